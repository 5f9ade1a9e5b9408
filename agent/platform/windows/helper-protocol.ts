/**
 * The wire between the agent and its per-session helper process (the helper's stdin and stdout, two
 * anonymous pipes). Every message is `u32 LE body length` + body; the body starts with a type byte.
 * Pure: no Win32 here, so both ends and the Linux unit tests share it.
 *
 * agent -> helper: grab (seq, full?), mouse, key, clear clipboard, close.
 * helper -> agent: hello (pid, session, capture path), frame (seq, size, changed rectangles),
 * failure (seq, or 0 when not tied to a grab), log (a line the agent should log).
 */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';

/** Largest body either side accepts: a 7680x4320 BGRX frame plus headers. */
export const MAX_BODY_BYTES = 7680 * 4320 * 4 + 64 * 1024;

const T = {
  grab: 0x01,
  mouse: 0x02,
  key: 0x03,
  clearClipboard: 0x04,
  close: 0x05,
  hello: 0x81,
  frame: 0x82,
  failure: 0x83,
  log: 0x84,
} as const;

export type CaptureSource = 'gdi' | 'dxgi';
const SOURCES: readonly CaptureSource[] = ['gdi', 'dxgi'];

export type ToHelper =
  | { type: 'grab'; seq: number; full: boolean }
  | { type: 'mouse'; x: number; y: number; buttons: number; wheel: number }
  | { type: 'key'; keyCode: number; down: boolean; text: string }
  | { type: 'clearClipboard' }
  | { type: 'close' };

/** A changed rectangle of a frame; `data` holds its rows packed (w * 4 bytes each, BGRX). */
export interface FrameRect {
  x: number;
  y: number;
  w: number;
  h: number;
  data: Uint8Array;
}

export interface FrameMessage {
  type: 'frame';
  seq: number;
  width: number;
  height: number;
  /** True: the rectangles cover the whole frame; false: they apply to the previous frame. */
  full: boolean;
  source: CaptureSource;
  rects: FrameRect[];
}

export type FromHelper =
  | { type: 'hello'; pid: number; sessionId: number; source: CaptureSource; note: string }
  | FrameMessage
  | { type: 'failure'; seq: number; code: ErrorCode; message: string }
  | { type: 'log'; text: string };

function head(bodyLength: number, type: number, fixed: number): Buffer {
  const b = Buffer.alloc(5 + fixed);
  b.writeUInt32LE(bodyLength, 0);
  b.writeUInt8(type, 4);
  return b;
}

function withText(type: number, fixed: (b: Buffer) => void, fixedLen: number, text: string): Buffer[] {
  const t = Buffer.from(text, 'utf8');
  const h = head(1 + fixedLen + t.length, type, fixedLen);
  fixed(h.subarray(5));
  return [h, t];
}

/** The chunks of one agent -> helper message, ready to write in order. */
export function encodeToHelper(m: ToHelper): Buffer[] {
  switch (m.type) {
    case 'grab': {
      const b = head(6, T.grab, 5);
      b.writeUInt32LE(m.seq >>> 0, 5);
      b.writeUInt8(m.full ? 1 : 0, 9);
      return [b];
    }
    case 'mouse': {
      const b = head(17, T.mouse, 16);
      b.writeInt32LE(m.x | 0, 5);
      b.writeInt32LE(m.y | 0, 9);
      b.writeUInt32LE(m.buttons >>> 0, 13);
      b.writeInt32LE(m.wheel | 0, 17);
      return [b];
    }
    case 'key':
      return withText(
        T.key,
        (f) => {
          f.writeUInt32LE(m.keyCode >>> 0, 0);
          f.writeUInt8(m.down ? 1 : 0, 4);
        },
        5,
        m.text,
      );
    case 'clearClipboard':
      return [head(1, T.clearClipboard, 0)];
    case 'close':
      return [head(1, T.close, 0)];
  }
}

/** The chunks of one helper -> agent message; frame pixels are passed through, not copied. */
export function encodeFromHelper(m: FromHelper): Uint8Array[] {
  switch (m.type) {
    case 'hello':
      return withText(
        T.hello,
        (f) => {
          f.writeUInt32LE(m.pid >>> 0, 0);
          f.writeUInt32LE(m.sessionId >>> 0, 4);
          f.writeUInt8(SOURCES.indexOf(m.source), 8);
        },
        9,
        m.note,
      );
    case 'frame': {
      let body = 1 + 18;
      for (const r of m.rects) body += 16 + r.data.length;
      const h = head(body, T.frame, 18);
      h.writeUInt32LE(m.seq >>> 0, 5);
      h.writeUInt32LE(m.width, 9);
      h.writeUInt32LE(m.height, 13);
      h.writeUInt8(m.full ? 1 : 0, 17);
      h.writeUInt8(SOURCES.indexOf(m.source), 18);
      h.writeUInt32LE(m.rects.length, 19);
      const out: Uint8Array[] = [h];
      for (const r of m.rects) {
        const rh = Buffer.alloc(16);
        rh.writeUInt32LE(r.x, 0);
        rh.writeUInt32LE(r.y, 4);
        rh.writeUInt32LE(r.w, 8);
        rh.writeUInt32LE(r.h, 12);
        out.push(rh, r.data);
      }
      return out;
    }
    case 'failure': {
      const code = Buffer.from(m.code, 'latin1');
      return withText(
        T.failure,
        (f) => {
          f.writeUInt32LE(m.seq >>> 0, 0);
          f.writeUInt8(code.length, 4);
          code.copy(f, 5);
        },
        5 + code.length,
        m.message,
      );
    }
    case 'log':
      return withText(T.log, () => {}, 0, m.text);
  }
}

const malformed = (what: string): Result<never> => err(ErrorCode.MALFORMED_MESSAGE, `session helper protocol: ${what}`);

/** Decodes one agent -> helper body (without its length prefix). */
export function decodeToHelper(body: Buffer): Result<ToHelper> {
  const type = body[0];
  const need = (n: number) => body.length >= n;
  switch (type) {
    case T.grab:
      return need(6) ? ok({ type: 'grab', seq: body.readUInt32LE(1), full: body[5] === 1 }) : malformed('short grab');
    case T.mouse:
      return need(17) ? ok({ type: 'mouse', x: body.readInt32LE(1), y: body.readInt32LE(5), buttons: body.readUInt32LE(9), wheel: body.readInt32LE(13) }) : malformed('short mouse');
    case T.key:
      return need(6) ? ok({ type: 'key', keyCode: body.readUInt32LE(1), down: body[5] === 1, text: body.toString('utf8', 6) }) : malformed('short key');
    case T.clearClipboard:
      return ok({ type: 'clearClipboard' });
    case T.close:
      return ok({ type: 'close' });
    default:
      return malformed(`unknown message type ${type} from the agent`);
  }
}

function source(n: number | undefined): CaptureSource | undefined {
  return n === undefined ? undefined : SOURCES[n];
}

function decodeFrame(body: Buffer): Result<FrameMessage> {
  if (body.length < 19) return malformed('short frame');
  const width = body.readUInt32LE(5);
  const height = body.readUInt32LE(9);
  const src = source(body[14]);
  if (!src) return malformed('unknown capture source');
  const count = body.readUInt32LE(15);
  const rects: FrameRect[] = [];
  let off = 19;
  for (let i = 0; i < count; i++) {
    if (off + 16 > body.length) return malformed('frame rectangles run past the message');
    const x = body.readUInt32LE(off);
    const y = body.readUInt32LE(off + 4);
    const w = body.readUInt32LE(off + 8);
    const h = body.readUInt32LE(off + 12);
    off += 16;
    const len = w * h * 4;
    if (x + w > width || y + h > height) return malformed(`rectangle ${x},${y} ${w}x${h} outside a ${width}x${height} frame`);
    if (off + len > body.length) return malformed('frame pixels run past the message');
    rects.push({ x, y, w, h, data: body.subarray(off, off + len) });
    off += len;
  }
  if (off !== body.length) return malformed('bytes left after the frame rectangles');
  return ok({ type: 'frame', seq: body.readUInt32LE(1), width, height, full: body[13] === 1, source: src, rects });
}

/** Decodes one helper -> agent body (without its length prefix); frame pixels stay views into `body`. */
export function decodeFromHelper(body: Buffer): Result<FromHelper> {
  const type = body[0];
  switch (type) {
    case T.hello: {
      if (body.length < 10) return malformed('short hello');
      const src = source(body[9]);
      if (!src) return malformed('unknown capture source');
      return ok({ type: 'hello', pid: body.readUInt32LE(1), sessionId: body.readUInt32LE(5), source: src, note: body.toString('utf8', 10) });
    }
    case T.frame:
      return decodeFrame(body);
    case T.failure: {
      if (body.length < 6) return malformed('short failure');
      const n = body[5] ?? 0;
      if (body.length < 6 + n) return malformed('short failure code');
      const code = body.toString('latin1', 6, 6 + n);
      if (!(code in ErrorCode)) return malformed(`unknown error code ${JSON.stringify(code)}`);
      return ok({ type: 'failure', seq: body.readUInt32LE(1), code: code as ErrorCode, message: body.toString('utf8', 6 + n) });
    }
    case T.log:
      return ok({ type: 'log', text: body.toString('utf8', 1) });
    default:
      return malformed(`unknown message type ${type} from the helper`);
  }
}

/** Reads a body's length prefix; an error when it is 0 or over MAX_BODY_BYTES (a broken stream). */
export function bodyLength(prefix: Buffer): Result<number> {
  const n = prefix.readUInt32LE(0);
  return n === 0 || n > MAX_BODY_BYTES ? malformed(`impossible message length ${n}`) : ok(n);
}

/** Cuts a byte stream into message bodies, whatever the chunk boundaries. */
export interface MessageSplitter {
  /** Adds bytes; returns the bodies completed by them (an error ends the stream for good). */
  push(chunk: Uint8Array): Result<Buffer[]>;
}

/** A splitter for one stream. */
export function createMessageSplitter(): MessageSplitter {
  let chunks: Buffer[] = [];
  let have = 0;
  let want = -1; // body length once the prefix is known
  let broken: Result<never> | undefined;
  const take = (n: number): Buffer => {
    const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, have);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    chunks = rest.length ? [rest] : [];
    have = rest.length;
    return out;
  };
  return {
    push(chunk) {
      if (broken) return broken;
      const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (b.length) {
        chunks.push(b);
        have += b.length;
      }
      const out: Buffer[] = [];
      for (;;) {
        if (want < 0) {
          if (have < 4) break;
          const n = bodyLength(take(4));
          if (!n.ok) {
            broken = n;
            return n;
          }
          want = n.value;
        }
        if (have < want) break;
        out.push(take(want));
        want = -1;
      }
      return ok(out);
    },
  };
}
