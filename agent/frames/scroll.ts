/**
 * Vertical scroll detection. When text scrolls, every tile of the screen changes, yet almost every
 * row of the new frame is a row of the old one, moved. Found here, such a band goes out as one
 * TILE_COPY (the viewer moves its own pixels) and only the rows that came into view are encoded:
 * a terminal scrolling through a 1080p screen costs a strip instead of the whole screen.
 * Rows are matched by a fingerprint (sampled pixels), and every row of the band found is then
 * compared byte for byte, so a copy is only ever sent for rows that are exactly equal.
 */
import type { RawFrame } from '../platform/port.js';

export interface ScrollCopy {
  /** Rows [y0, y1) of the new frame are rows [y0 + dy, y1 + dy) of the old one. */
  y0: number;
  y1: number;
  dy: number;
}

/** Every third pixel goes into a row's fingerprint (a glyph stroke is wider than that in practice; the check is exact anyway). */
const SAMPLE_STEP = 3;
/** A band must move at least this many rows that changed in place, or a copy is not worth a tile. */
export const MIN_SCROLL_ROWS = 64;
/** Rows with a unique fingerprint that must agree on one shift before it is checked. */
const MIN_VOTES = 8;

/** One fingerprint per row of `f` (BGRX, any stride). */
export function rowPrints(f: RawFrame): Uint32Array {
  const words = new Uint32Array(f.data.buffer, f.data.byteOffset, f.data.byteLength >>> 2);
  const strideWords = f.stride >>> 2;
  const out = new Uint32Array(f.height);
  for (let y = 0; y < f.height; y++) {
    const base = y * strideWords;
    let h = 2166136261;
    // The X byte is padding: it may differ where the pixels do not.
    for (let x = 0; x < f.width; x += SAMPLE_STEP) h = Math.imul(h ^ (words[base + x]! & 0xffffff), 16777619);
    out[y] = h >>> 0;
  }
  return out;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Bands shorter than this are left to the tile diff (a copy tile costs the viewer a canvas draw). */
const MIN_BAND_ROWS = 16;

/**
 * The bands of `next` that are rows of `prev` moved by one vertical shift, when together they move
 * enough rows to be worth it; in the order they must be applied (each reads rows no earlier band wrote).
 * Several bands, not one: a pointer or a fixed status line on the scrolled screen splits it.
 */
export function detectScroll(prev: RawFrame, next: RawFrame, prevPrints: Uint32Array, nextPrints: Uint32Array): ScrollCopy[] {
  const h = next.height;
  if (prev.width !== next.width || prev.height !== h || prevPrints.length !== h || nextPrints.length !== h) return [];
  // Rows whose fingerprint occurs once in the old frame; blank lines and the like match anywhere and say nothing.
  const where = new Map<number, number>();
  for (let y = 0; y < h; y++) {
    const p = prevPrints[y]!;
    where.set(p, where.has(p) ? -1 : y);
  }
  const votes = new Map<number, number>();
  for (let y = 0; y < h; y++) {
    const p = nextPrints[y]!;
    if (p === prevPrints[y]) continue;
    const from = where.get(p);
    if (from === undefined || from < 0) continue;
    votes.set(from - y, (votes.get(from - y) ?? 0) + 1);
  }
  let dy = 0;
  let best = 0;
  for (const [d, n] of votes) {
    if (n > best) {
      best = n;
      dy = d;
    }
  }
  if (best < MIN_VOTES || dy === 0) return [];
  const a = asBuffer(prev.data);
  const b = asBuffer(next.data);
  const rowBytes = next.width * 4;
  const same = (y: number) => {
    if (nextPrints[y] !== prevPrints[y + dy]) return false;
    const pa = (y + dy) * prev.stride;
    const pb = y * next.stride;
    return a.subarray(pa, pa + rowBytes).equals(b.subarray(pb, pb + rowBytes));
  };
  const bands: ScrollCopy[] = [];
  let total = 0;
  let start = -1;
  let moved = 0;
  const lo = Math.max(0, -dy);
  const hi = Math.min(h, h - dy);
  for (let y = lo; y <= hi; y++) {
    if (y < hi && same(y)) {
      if (start < 0) {
        start = y;
        moved = 0;
      }
      if (nextPrints[y] !== prevPrints[y]) moved++;
      continue;
    }
    // A band of rows that did not change in place needs no copy.
    if (start >= 0 && y - start >= MIN_BAND_ROWS && moved > 0) {
      bands.push({ y0: start, y1: y, dy });
      total += moved;
    }
    start = -1;
  }
  if (total < MIN_SCROLL_ROWS) return [];
  // Moving up (dy > 0) each band reads below itself: top band first. Moving down: bottom band first.
  return dy > 0 ? bands : bands.reverse();
}
