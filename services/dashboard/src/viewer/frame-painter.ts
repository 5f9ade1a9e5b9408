/**
 * Paints VideoFrames onto a canvas. The canvas keeps the last full image; delta frames only redraw
 * their tiles. Frames are drawn strictly in arrival order (tile decodes of one frame run in
 * parallel), and frames of a session other than the one being watched are ignored. A browser that
 * cannot paint as fast as frames arrive never builds a backlog: past a few waiting frames it drops
 * deltas until the next keyframe and says it fell behind (the gateway then slows the stream down).
 */
import { guruconnect } from '../../../../proto/generated/guruconnect.js';
import { toNumber } from '../format.js';
import { readCapped } from './read-capped.js';

const Enc = guruconnect.TileEncoding;
type Tile = guruconnect.ITile;

export interface FramePainter {
  /** Queue one binary socket message (an encoded guruconnect.Message). */
  push(data: ArrayBuffer): void;
  /** Only frames of this session are painted from now on (-1: none). */
  expect(sessionId: number): void;
  readonly framesPainted: number;
  readonly lastFrameSession: number | undefined;
  /** Per painted frame: capture-to-paint latency and message size (benchmarks and tests read them). */
  readonly stats: PaintStats;
  /** RGBA of one canvas pixel (remote coordinates). */
  pixel(x: number, y: number): [number, number, number, number];
}

/** One painted frame, as measured in the browser. */
export interface PaintSample {
  sessionId: number;
  keyframe: boolean;
  /** Date.now() at paint minus the agent's captured_at_ms (same clock when agent and browser share a machine). */
  latencyMs: number;
  /** Size of the socket message that carried the frame. */
  bytes: number;
  /** Date.now() when painted. */
  at: number;
}
export interface PaintStats {
  /** The most recent painted frames (bounded ring, oldest first). */
  readonly samples: PaintSample[];
  /** Frames received (painted or not) and their bytes. */
  received: number;
  receivedBytes: number;
  /** Deltas dropped because painting fell behind. */
  dropped: number;
}
const MAX_SAMPLES = 5000;

/** Frames waiting to be painted before deltas are dropped. */
const MAX_BACKLOG = 4;

/**
 * Creates a painter for `canvas`; `needKeyframe` is called when a delta arrives that cannot be
 * applied, with `behind` when frames were dropped because painting could not keep up.
 */
export function createFramePainter(
  canvas: HTMLCanvasElement,
  opts: {
    needKeyframe(behind?: boolean): void;
    painted?(f: { width: number; height: number; sessionId: number; keyframe: boolean }): void;
    /** Every socket message pushed, painted or not: the page acknowledges it (the gateway's flow control). */
    received?(): void;
  },
): FramePainter {
  const ctx = canvas.getContext('2d', { willReadFrequently: true, alpha: false })!;
  let expected = -1;
  let painted = 0;
  let lastSession: number | undefined;
  let haveImage = false;
  let queue: Promise<void> = Promise.resolve();
  let backlog = 0;
  let skipping = false;
  const stats: PaintStats = { samples: [], received: 0, receivedBytes: 0, dropped: 0 };
  let scratch: HTMLCanvasElement | undefined;
  /** The picture as it stands, copied once into a canvas kept for reuse (the source of a frame's scroll copies). */
  const takeSnapshot = () => {
    scratch ??= document.createElement('canvas');
    if (scratch.width !== canvas.width || scratch.height !== canvas.height) {
      scratch.width = canvas.width;
      scratch.height = canvas.height;
    }
    scratch.getContext('2d', { alpha: false })!.drawImage(canvas, 0, 0);
    return scratch;
  };

  const draw = async (frame: guruconnect.VideoFrame, bytes: number) => {
    const sid = frame.sessionId ?? 0;
    if (sid !== expected) return;
    const w = frame.width ?? 0;
    const hgt = frame.height ?? 0;
    if (frame.keyframe) {
      if (canvas.width !== w || canvas.height !== hgt) {
        canvas.width = w;
        canvas.height = hgt;
      }
    } else if (!haveImage || canvas.width !== w || canvas.height !== hgt) {
      // A delta on a stale or empty image would paint garbage: wait for the next full frame.
      opts.needKeyframe();
      return;
    }
    const images = await Promise.all((frame.tiles ?? []).map((t) => decodeTile(t, { width: w, height: hgt }).catch(() => undefined)));
    // The session may have changed while the tiles decoded.
    if (sid !== expected) return;
    let snapshot: HTMLCanvasElement | undefined;
    images.forEach((img, i) => {
      const t = frame.tiles[i]!;
      if (t.encoding === Enc.TILE_COPY) {
        // A scroll: move our own pixels instead of decoding new ones. Drawn from one snapshot per frame:
        // drawing a canvas onto itself costs a whole-canvas copy per call (measured ~10 ms at 1080p in
        // headless Chromium), a snapshot once and blits from it ~2 ms for three bands.
        const w = t.width ?? 0;
        const hh = t.height ?? 0;
        if (w <= 0 || hh <= 0) return;
        snapshot ??= takeSnapshot();
        ctx.drawImage(snapshot, t.srcX ?? 0, t.srcY ?? 0, w, hh, t.x ?? 0, t.y ?? 0, w, hh);
        return;
      }
      if (!img) return;
      if (img instanceof ImageData) ctx.putImageData(img, t.x ?? 0, t.y ?? 0);
      else {
        ctx.drawImage(img, t.x ?? 0, t.y ?? 0, t.width ?? img.width, t.height ?? img.height);
        img.close();
      }
    });
    if (frame.keyframe) haveImage = true;
    painted++;
    lastSession = sid;
    const now = Date.now();
    stats.samples.push({ sessionId: sid, keyframe: !!frame.keyframe, latencyMs: now - toNumber(frame.capturedAtMs, now), bytes, at: now });
    if (stats.samples.length > MAX_SAMPLES) stats.samples.splice(0, stats.samples.length - MAX_SAMPLES);
    opts.painted?.({ width: w, height: hgt, sessionId: sid, keyframe: !!frame.keyframe });
  };

  return {
    push(data) {
      opts.received?.();
      let msg: guruconnect.Message;
      try {
        msg = guruconnect.Message.decode(new Uint8Array(data));
      } catch {
        return;
      }
      const frame = msg.videoFrame;
      if (!frame) return;
      stats.received++;
      stats.receivedBytes += data.byteLength;
      if (frame.keyframe) skipping = false;
      else if (skipping || backlog >= MAX_BACKLOG) {
        stats.dropped++;
        if (!skipping) opts.needKeyframe(true);
        skipping = true;
        return;
      }
      backlog++;
      queue = queue
        .then(() => draw(frame as guruconnect.VideoFrame, data.byteLength))
        .catch(() => {})
        .finally(() => {
          backlog--;
        });
    },
    expect(sessionId) {
      if (sessionId !== expected) haveImage = false;
      expected = sessionId;
    },
    get framesPainted() {
      return painted;
    },
    get lastFrameSession() {
      return lastSession;
    },
    stats,
    pixel(x, y) {
      const d = ctx.getImageData(x, y, 1, 1).data;
      return [d[0] ?? 0, d[1] ?? 0, d[2] ?? 0, d[3] ?? 0];
    },
  };
}

const MIME: Record<number, string> = { [Enc.TILE_JPEG]: 'image/jpeg', [Enc.TILE_WEBP]: 'image/webp', [Enc.TILE_PNG]: 'image/png' };

/** The largest picture a raw tile may fill: 8K UHD (three 4K screens side by side are less). */
const MAX_RAW_PIXELS = 7680 * 4320;

async function decodeTile(t: Tile, frame: { width: number; height: number }): Promise<ImageBitmap | ImageData | undefined> {
  const data = t.data;
  const enc = t.encoding ?? Enc.TILE_JPEG;
  if (enc === Enc.TILE_COPY || !data || data.byteLength === 0) return undefined;
  if (enc === Enc.TILE_RAW_BGRA) return rawTile(data, t.width ?? 0, t.height ?? 0, frame);
  return createImageBitmap(new Blob([data as Uint8Array<ArrayBuffer>], { type: MIME[enc] ?? 'image/jpeg' }));
}

/** TILE_RAW_BGRA: raw DEFLATE of width*height*4 bytes in B G R A order (agent/frames/encode.ts). */
async function rawTile(data: Uint8Array, width: number, height: number, frame: { width: number; height: number }): Promise<ImageData | undefined> {
  // The tile's claimed size bounds what is inflated: within its frame, and the frame within 8K.
  const fits = width > 0 && height > 0 && width <= frame.width && height <= frame.height && frame.width * frame.height <= MAX_RAW_PIXELS;
  if (!fits) return undefined;
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const inflated = await readCapped(stream, width * height * 4);
  if (!inflated || inflated.length !== width * height * 4) return undefined;
  const bytes = new Uint8ClampedArray(inflated.buffer, inflated.byteOffset, inflated.byteLength);
  for (let i = 0; i < bytes.length; i += 4) {
    const b = bytes[i]!;
    bytes[i] = bytes[i + 2]!;
    bytes[i + 2] = b;
  }
  return new ImageData(bytes, width, height);
}
