import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { detectScroll, MIN_SCROLL_ROWS, rowPrints } from '../../agent/frames/scroll.js';
import { dirtyTiles } from '../../agent/frames/tiles.js';
import type { RawFrame } from '../../agent/platform/port.js';

/** A frame whose rows are "lines of text": row y of the document starting at `top` (distinct, deterministic pixels). */
function page(width: number, height: number, top: number, pad = 0): RawFrame {
  const stride = width * 4 + pad;
  const data = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const doc = top + y;
    for (let x = 0; x < width; x++) data.writeUInt32LE(((doc * 2654435761) ^ (x * 40503)) >>> 8, y * stride + x * 4);
  }
  return { width, height, stride, data };
}

const rowsEqual = (a: RawFrame, ya: number, b: RawFrame, yb: number) =>
  Buffer.from(a.data.buffer, a.data.byteOffset + ya * a.stride, a.width * 4).equals(Buffer.from(b.data.buffer, b.data.byteOffset + yb * b.stride, b.width * 4));

test('text scrolled up by 36 rows: one band copied from 36 rows lower, only the new rows left dirty', () => {
  const prev = page(640, 480, 0);
  const next = page(640, 480, 36);
  const s = detectScroll(prev, next, rowPrints(prev), rowPrints(next));
  assert.deepEqual(s, { y0: 0, y1: 444, dy: 36 });
  const rects = dirtyTiles(prev, next, { same: { y0: s!.y0, y1: s!.y1 } });
  // Rows 444..479 came into view: the tile rows holding them (384..447 and 448..479), nothing above.
  assert.ok(rects.every((r) => r.y + r.height > 444));
  assert.ok(rects.some((r) => r.y === 448));
});

test('scrolled down (content moves down): a negative shift', () => {
  const prev = page(320, 400, 100);
  const next = page(320, 400, 60);
  assert.deepEqual(detectScroll(prev, next, rowPrints(prev), rowPrints(next)), { y0: 40, y1: 400, dy: -40 });
});

test('no copy for an unchanged screen, a screen of new content, a different size, or a move too small to pay', () => {
  const a = page(320, 300, 0);
  assert.equal(detectScroll(a, a, rowPrints(a), rowPrints(a)), undefined);
  const other = page(320, 300, 10_000);
  assert.equal(detectScroll(a, other, rowPrints(a), rowPrints(other)), undefined);
  const small = page(320, 240, 0);
  assert.equal(detectScroll(a, small, rowPrints(a), rowPrints(small)), undefined);
  // Only MIN_SCROLL_ROWS - 1 rows moved (the rest of the screen unchanged in place).
  const part = page(320, 300, 0);
  const shifted = page(320, MIN_SCROLL_ROWS + 5, 5);
  (part.data as Buffer).set((shifted.data as Buffer).subarray(0, (MIN_SCROLL_ROWS - 1) * part.stride), 0);
  assert.equal(detectScroll(a, part, rowPrints(a), rowPrints(part)), undefined);
});

test('a copy is only ever sent for rows that are exactly equal, even when fingerprints collide', () => {
  const prev = page(300, 256, 0);
  const next = page(300, 256, 20);
  const pn = rowPrints(next);
  // One pixel the fingerprint does not sample (x = 1) differs in row 100: it must split the band.
  (next.data as Buffer).writeUInt32LE(0x123456, 100 * next.stride + 4);
  const s = detectScroll(prev, next, rowPrints(prev), pn);
  assert.ok(s);
  for (let y = s.y0; y < s.y1; y++) assert.ok(rowsEqual(next, y, prev, y + s.dy), `row ${y}`);
  assert.ok(s.y0 > 100 || s.y1 <= 100);
});

test('property: any vertical scroll with fresh rows coming in is found, and the band is exact', () => {
  fc.assert(
    fc.property(fc.integer({ min: 64, max: 200 }), fc.integer({ min: 130, max: 300 }), fc.integer({ min: -60, max: 60 }), fc.integer({ min: 0, max: 2 }), (w, h, dy, padWords) => {
      const pad = padWords * 4;
      fc.pre(dy !== 0 && h - Math.abs(dy) >= MIN_SCROLL_ROWS);
      const prev = page(w, h, 1000, pad);
      const next = page(w, h, 1000 + dy, pad);
      const s = detectScroll(prev, next, rowPrints(prev), rowPrints(next));
      assert.deepEqual(s, dy > 0 ? { y0: 0, y1: h - dy, dy } : { y0: -dy, y1: h, dy });
      for (let y = s!.y0; y < s!.y1; y++) assert.ok(rowsEqual(next, y, prev, y + s!.dy));
    }),
  );
});
