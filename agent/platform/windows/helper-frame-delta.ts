/**
 * What crosses the helper pipe per grab: only the rectangles that changed since the last frame sent.
 * The helper compares each row with the previous frame (memcmp through Buffer.compare) and narrows a
 * changed row to its first and last differing chunk of pixels; consecutive changed rows become one
 * rectangle. The agent rebuilds the whole frame from its copy of the previous one. Pure.
 */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { RawFrame } from '../port.js';
import { recycledData, sharesMemory } from '../frame-buffer.js';
import type { FrameRect } from './helper-protocol.js';

export interface DeltaOptions {
  /** Horizontal granularity in pixels of a changed span (default 32). */
  chunkPx?: number;
  /** Unchanged rows allowed inside one rectangle before it is split (default 8). */
  mergeGapRows?: number;
  /**
   * Where the rectangles' rows are packed, one after the other (rectangles never share a row, so
   * a frame's bytes always hold them): the caller's buffer from frameBuffer, reused once the last
   * message is written out. Without it, or when it is smaller or a frame's memory, each rectangle
   * gets a new buffer.
   */
  into?: Uint8Array;
}

const view = (d: Uint8Array): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);
/** `d` itself when it is a Buffer (the frame keeps its buffer object), else a Buffer over its memory. */
const asBuffer = (d: Uint8Array): Buffer => (Buffer.isBuffer(d) ? d : view(d));

/** The frame as one rectangle (no copy when its rows are already packed). */
export function wholeFrame(f: RawFrame): FrameRect {
  const row = f.width * 4;
  const data = f.stride === row ? f.data.subarray(0, row * f.height) : packRows(view(f.data), f.stride, 0, 0, f.width, f.height);
  return { x: 0, y: 0, w: f.width, h: f.height, data };
}

function packRows(src: Buffer, stride: number, x: number, y: number, w: number, h: number, out: Buffer = Buffer.allocUnsafe(w * h * 4)): Buffer {
  for (let r = 0; r < h; r++) src.copy(out, r * w * 4, (y + r) * stride + x * 4, (y + r) * stride + (x + w) * 4);
  return out;
}

/**
 * Rectangles of `next` that differ from `prev` (empty: nothing changed). Undefined when there is no
 * comparable previous frame, so the caller sends the whole frame.
 */
export function changedRects(prev: RawFrame | undefined, next: RawFrame, opts: DeltaOptions = {}): FrameRect[] | undefined {
  if (!prev || prev.width !== next.width || prev.height !== next.height) return undefined;
  const chunk = Math.max(1, opts.chunkPx ?? 32) * 4;
  const gap = opts.mergeGapRows ?? 8;
  const a = view(prev.data);
  const b = view(next.data);
  const rowBytes = next.width * 4;
  const spans: { y0: number; y1: number; x0: number; x1: number }[] = [];
  let cur: { y0: number; y1: number; x0: number; x1: number } | undefined;
  for (let y = 0; y < next.height; y++) {
    const pa = y * prev.stride;
    const pb = y * next.stride;
    if (a.compare(b, pb, pb + rowBytes, pa, pa + rowBytes) === 0) continue;
    let lo = 0;
    while (lo < rowBytes && a.compare(b, pb + lo, pb + Math.min(lo + chunk, rowBytes), pa + lo, pa + Math.min(lo + chunk, rowBytes)) === 0) lo += chunk;
    let hi = Math.ceil(rowBytes / chunk) * chunk;
    while (hi > lo) {
      const s = hi - chunk;
      const e = Math.min(hi, rowBytes);
      if (a.compare(b, pb + s, pb + e, pa + s, pa + e) !== 0) break;
      hi = s;
    }
    const x0 = lo / 4;
    const x1 = Math.min(hi, rowBytes) / 4;
    if (cur && y - cur.y1 <= gap) {
      cur.y1 = y + 1;
      cur.x0 = Math.min(cur.x0, x0);
      cur.x1 = Math.max(cur.x1, x1);
    } else {
      cur = { y0: y, y1: y + 1, x0, x1 };
      spans.push(cur);
    }
  }
  const total = spans.reduce((n, s) => n + (s.x1 - s.x0) * (s.y1 - s.y0) * 4, 0);
  const into = opts.into && opts.into.byteLength >= total && !sharesMemory(opts.into, prev.data) && !sharesMemory(opts.into, next.data) ? asBuffer(opts.into) : undefined;
  let at = 0;
  return spans.map((s) => {
    const w = s.x1 - s.x0;
    const h = s.y1 - s.y0;
    const area = into?.subarray(at, at + w * h * 4);
    at += w * h * 4;
    return { x: s.x0, y: s.y0, w, h, data: packRows(b, next.stride, s.x0, s.y0, w, h, area) };
  });
}

/**
 * Rebuilds a frame from a frame message: `full` rectangles make a new frame; otherwise they are
 * written over a copy of `base` (never over `base` itself: callers keep earlier frames to diff).
 * No rectangles and not full: `base` itself, unchanged. The copy goes into `recycle`'s buffer (a
 * frame the caller is done with) when its size fits and it is not `base`'s memory.
 */
export function applyRects(base: RawFrame | undefined, m: { width: number; height: number; full: boolean; rects: FrameRect[] }, recycle?: RawFrame): Result<RawFrame> {
  const row = m.width * 4;
  const only = m.rects[0];
  if (m.full && m.rects.length === 1 && only && only.x === 0 && only.y === 0 && only.w === m.width && only.h === m.height) {
    return ok({ width: m.width, height: m.height, stride: row, data: only.data });
  }
  const bytes = row * m.height;
  const recycled = recycledData(recycle, bytes, base?.data);
  const reuse = recycled ? asBuffer(recycled) : undefined;
  let out: Buffer;
  if (m.full) {
    out = reuse ? reuse.fill(0) : Buffer.alloc(bytes);
  } else {
    if (!base || base.width !== m.width || base.height !== m.height) {
      return err(ErrorCode.MALFORMED_MESSAGE, 'session helper sent changes without a frame of the same size to apply them to');
    }
    if (m.rects.length === 0) return ok(base);
    const src = view(base.data);
    out = reuse ?? Buffer.allocUnsafe(bytes);
    if (base.stride === row) src.copy(out, 0, 0, bytes);
    else for (let y = 0; y < m.height; y++) src.copy(out, y * row, y * base.stride, y * base.stride + row);
  }
  for (const r of m.rects) {
    const src = view(r.data);
    for (let i = 0; i < r.h; i++) src.copy(out, (r.y + i) * row + r.x * 4, i * r.w * 4, (i + 1) * r.w * 4);
  }
  return ok({ width: m.width, height: m.height, stride: row, data: out });
}
