/**
 * The live-view loop for one desktop: grab at a target rate, diff against the previous frame, encode
 * the dirty rectangles and hand a VideoFrame to the caller. It never queues: a tick that arrives while
 * the previous frame is still being captured or encoded is dropped, so latency stays one frame deep.
 */
import type { GcError } from '../../proto/errors.js';
import { MAX_MESSAGE_BYTES } from '../../proto/codec.js';
import type { guruconnect } from '../../proto/generated/guruconnect.js';
import { captureRunning } from '../binary/v8-flags.js';
import type { RawFrame, SessionDesktop } from '../platform/port.js';
import { encodeTiles, type Tile, TileEncoding } from './encode.js';
import { captureTrace } from './capture-trace.js';
import { nextSlot } from './frame-clock.js';
import { qualityGovernor } from './quality.js';
import { type RefineTracker, refineTracker } from './refine.js';
import { detectScroll, rowPrints } from './scroll.js';
import { dirtyTiles, KEYFRAME_BAND, keyframeBands, type Rect } from './tiles.js';

export type VideoFrame = guruconnect.VideoFrame.$Properties;

export interface CaptureOptions {
  fps: number;
  /** JPEG/WebP quality 1..100 wanted by the caller; the loop may go lower when encoding overruns. */
  quality: number;
  onFrame: (frame: VideoFrame) => void;
  /** The current switch epoch, stamped on every frame. */
  epoch: () => number;
  encoding?: TileEncoding;
  /** Called when a grab fails (the loop keeps going; the caller decides whether to stop it). */
  onError?: (e: GcError) => void;
}

export interface CaptureStats {
  frames: number;
  keyframes: number;
  /** Settled lossy tiles sent again at high quality (refine.ts). */
  refined: number;
  /** Deltas that began with a copy of the viewer's own picture (a scroll, scroll.ts). */
  scrolls: number;
  /** Ticks dropped because the previous frame was still in progress. */
  skippedTicks: number;
  /** Grabs with nothing changed (no frame sent). */
  unchanged: number;
  grabErrors: number;
  tiles: number;
  bytes: number;
  /** Mean grab + diff + encode time of sent frames. */
  meanWorkMs: number;
  /** Mean encode part of it (what quality changes). */
  meanEncodeMs: number;
  quality: number;
  fps: number;
}

export interface CaptureLoop {
  requestKeyframe(): void;
  setQuality(q: number): void;
  setFps(n: number): void;
  /** Stops ticking and waits for the frame in progress. */
  stop(): Promise<void>;
  stats(): CaptureStats;
}

/** Leaves room for the Message envelope and tile headers under the bus limit. */
const FRAME_BYTE_BUDGET = MAX_MESSAGE_BYTES - 64 * 1024;

/** Splits tiles into groups under the byte budget (a huge keyframe becomes several messages). */
export function splitByBudget(tiles: Tile[], budget = FRAME_BYTE_BUDGET): Tile[][] {
  const parts: Tile[][] = [];
  let cur: Tile[] = [];
  let size = 0;
  for (const t of tiles) {
    const n = (t.data?.length ?? 0) + 32;
    if (cur.length && size + n > budget) {
      parts.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += n;
  }
  if (cur.length) parts.push(cur);
  return parts;
}

/**
 * Frame buffers a stopped loop leaves with its desktop, for the next loop on that desktop to grab
 * into. A switch back to a paused session starts a new loop on it, and a loop without spares
 * allocates a full-screen buffer for each of its first two grabs (8 MiB each at 1080p): page faults
 * and a major collection on the agent's event loop right while the switch's answer travels
 * (commands bench: about a quarter of the agent's CPU per switch). Weakly held, so a desktop that
 * is closed and dropped takes its buffers with it.
 */
const parked = new WeakMap<SessionDesktop, RawFrame[]>();

/** The buffers a stopped loop left with `desktop` (taken: one loop grabs into them at a time). */
export function takeParkedFrames(desktop: SessionDesktop): RawFrame[] {
  const frames = parked.get(desktop) ?? [];
  parked.delete(desktop);
  return frames;
}

/** Starts capturing `desktop`; the first frame sent is a keyframe. */
export function startCaptureLoop(desktop: SessionDesktop, opts: CaptureOptions): CaptureLoop {
  // The single-file agent idles with V8 set for memory; diffing and encoding tiles need its speed.
  const releaseV8 = captureRunning();
  const encoding = opts.encoding ?? TileEncoding.TILE_JPEG;
  const quality = qualityGovernor(opts.quality);
  let intervalMs = 1000 / Math.max(1, opts.fps);
  let prev: RawFrame | undefined;
  /**
   * Buffers nothing reads any more, for the next grabs to reuse: the frame before `prev`, and at
   * the start what the desktop's previous loop left (its content is never read: the first frame
   * is a keyframe whatever the buffer held).
   */
  const spares: RawFrame[] = takeParkedFrames(desktop);
  /** Row fingerprints of `prev` (scroll.ts). */
  let prevPrints: Uint32Array | undefined;
  let wantKey = true;
  let seq = 0;
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let nextAt = performance.now();
  let workTotal = 0;
  let worked = 0;
  let encodeTotal = 0;
  let refine: RefineTracker | undefined;
  /** Slots the clock dropped before the frame now due (for the trace). */
  let lastSkipped = 0;
  /** The frame just worked was a keyframe or carried a refinement: its overrun drops slots (frame-clock.ts). */
  let heavy = false;
  const trace = captureTrace();
  const s = { frames: 0, keyframes: 0, refined: 0, scrolls: 0, skippedTicks: 0, unchanged: 0, grabErrors: 0, tiles: 0, bytes: 0 };

  async function captureOnce(): Promise<void> {
    const started = performance.now();
    heavy = false;
    const grabbed = await desktop.grab(spares.pop());
    if (!grabbed.ok) {
      s.grabErrors++;
      opts.onError?.(grabbed.error);
      return;
    }
    const frame = grabbed.value;
    const grabbedAt = performance.now();
    const keyframe = wantKey || !prev || prev.width !== frame.width || prev.height !== frame.height;
    const prints = rowPrints(frame);
    const scroll = !keyframe && prev && prevPrints ? detectScroll(prev, frame, prevPrints, prints) : [];
    const rects = keyframe ? keyframeBands(frame.width, frame.height) : dirtyTiles(prev, frame, { denseBand: KEYFRAME_BAND, same: scroll });
    const copies: Tile[] = scroll.map((b) => ({ x: 0, y: b.y0, width: frame.width, height: b.y1 - b.y0, encoding: TileEncoding.TILE_COPY, srcX: 0, srcY: b.y0 + b.dy }));
    const sized = prev && prev.width === frame.width && prev.height === frame.height;
    if (prev) spares.push(prev);
    prev = frame;
    prevPrints = prints;
    if (!refine) refine = refineTracker(frame.width, frame.height);
    else if (!sized) refine.reset(frame.width, frame.height);
    const q = quality.current;
    const now = performance.now();
    // Only JPEG and WebP lose detail; raw and PNG tiles are exact already.
    const lossyCodec = encoding === TileEncoding.TILE_JPEG || encoding === TileEncoding.TILE_WEBP;
    if (lossyCodec) refine.sent(rects, q, now);
    // Copied pixels carry whatever loss their source had: refine the band once it settles.
    if (lossyCodec && copies.length) refine.sent(copies as Rect[], q, now);
    const settled = lossyCodec ? refine.due(now) : [];
    if (!rects.length && !settled.length && !copies.length) {
      s.unchanged++;
      trace.frame({ due: nextAt, started, grabMs: grabbedAt - started, analyseMs: now - grabbedAt, encodeMs: 0, publishMs: 0, skipped: lastSkipped, rects: 0, copies: 0, unchanged: true });
      return;
    }
    wantKey = false;
    heavy = keyframe || settled.length > 0;
    const encodeStart = performance.now();
    const changed = await encodeTiles(frame, rects, encoding, q);
    const encodeMs = performance.now() - encodeStart;
    const encoded = settled.length ? [...changed, ...(await encodeTiles(frame, settled, encoding, refine.quality))] : changed;
    // The copies go first: they move the picture the other tiles are then painted on.
    const tiles = copies.length ? [...copies, ...encoded] : encoded;
    if (copies.length) s.scrolls++;
    s.refined += settled.length;
    const work = performance.now() - started;
    encodeTotal += encodeMs;
    // Only encode time reacts to quality, and keyframes are expensive by nature: judge the changed
    // tiles of deltas only (refinement runs at its own fixed quality, a bounded amount per frame).
    if (!keyframe && rects.length) quality.observe(encodeMs, intervalMs);
    workTotal += work;
    worked++;
    if (stopped) return;
    const publishStart = performance.now();
    for (const [i, part] of splitByBudget(tiles).entries()) {
      const key = keyframe && i === 0;
      const msg: VideoFrame = {
        sessionId: desktop.sessionId,
        seq: ++seq,
        width: frame.width,
        height: frame.height,
        keyframe: key,
        tiles: part,
        capturedAtMs: Date.now() - Math.round(performance.now() - started),
        epoch: opts.epoch(),
      };
      s.frames++;
      if (key) s.keyframes++;
      s.tiles += part.length;
      for (const t of part) s.bytes += t.data?.length ?? 0;
      opts.onFrame(msg);
    }
    trace.frame({
      due: nextAt,
      started,
      grabMs: grabbedAt - started,
      analyseMs: now - grabbedAt,
      encodeMs: publishStart - encodeStart,
      publishMs: performance.now() - publishStart,
      skipped: lastSkipped,
      rects: rects.length + settled.length,
      copies: copies.length,
    });
  }

  function schedule(): void {
    if (stopped) return;
    const now = performance.now();
    // On the grid, not a delay after the work; an overrun starts late or drops slots, by how heavy the frame was (frame-clock.ts).
    const slot = nextSlot(nextAt + intervalMs, now, intervalMs, !heavy);
    s.skippedTicks += slot.skipped;
    lastSkipped = slot.skipped;
    nextAt = slot.at;
    timer = setTimeout(tick, Math.max(0, nextAt - now));
  }

  function tick(): void {
    if (stopped) return;
    inFlight = captureOnce()
      .catch((e: unknown) => {
        s.grabErrors++;
        opts.onError?.({ code: 'INTERNAL', message: `capture failed: ${(e as Error).message}` });
      })
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
  }

  timer = setTimeout(tick, 0);
  return {
    requestKeyframe() {
      wantKey = true;
    },
    setQuality(q) {
      quality.setTarget(q);
    },
    setFps(n) {
      intervalMs = 1000 / Math.max(1, n);
      nextAt = performance.now();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
      trace.flush();
      releaseV8();
      // Left for the next loop on this desktop (a switch back); this loop grabs no more.
      const keep = prev ? [...spares, prev] : spares;
      if (keep.length && !parked.has(desktop)) parked.set(desktop, keep.slice(-2));
      prev = undefined;
      spares.length = 0;
    },
    stats() {
      return {
        ...s,
        meanWorkMs: worked ? workTotal / worked : 0,
        meanEncodeMs: worked ? encodeTotal / worked : 0,
        quality: quality.current,
        fps: 1000 / intervalMs,
      };
    },
  };
}
