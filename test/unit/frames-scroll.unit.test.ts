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
  assert.deepEqual(s, [{ y0: 0, y1: 444, dy: 36 }]);
  const rects = dirtyTiles(prev, next, { same: s });
  // Rows 444..479 came into view: the tile rows holding them (384..447 and 448..479), nothing above.
  assert.ok(rects.every((r) => r.y + r.height > 444));
  assert.ok(rects.some((r) => r.y === 448));
});

test('scrolled down (content moves down): a negative shift', () => {
  const prev = page(320, 400, 100);
  const next = page(320, 400, 60);
  assert.deepEqual(detectScroll(prev, next, rowPrints(prev), rowPrints(next)), [{ y0: 40, y1: 400, dy: -40 }]);
});

test('no copy for an unchanged screen, a screen of new content, a different size, or a move too small to pay', () => {
  const a = page(320, 300, 0);
  assert.deepEqual(detectScroll(a, a, rowPrints(a), rowPrints(a)), []);
  const other = page(320, 300, 10_000);
  assert.deepEqual(detectScroll(a, other, rowPrints(a), rowPrints(other)), []);
  const small = page(320, 240, 0);
  assert.deepEqual(detectScroll(a, small, rowPrints(a), rowPrints(small)), []);
  // Only MIN_SCROLL_ROWS - 1 rows moved (the rest of the screen unchanged in place).
  const part = page(320, 300, 0);
  const shifted = page(320, MIN_SCROLL_ROWS + 5, 5);
  (part.data as Buffer).set((shifted.data as Buffer).subarray(0, (MIN_SCROLL_ROWS - 1) * part.stride), 0);
  assert.deepEqual(detectScroll(a, part, rowPrints(a), rowPrints(part)), []);
});

test('a copy is only ever sent for rows that are exactly equal: a row differing where the fingerprint does not look splits the band', () => {
  const prev = page(300, 256, 0);
  const next = page(300, 256, 20);
  // One pixel the fingerprint does not sample (x = 1) differs in row 100 (a pointer drawn there, say).
  (next.data as Buffer).writeUInt32LE(0x123456, 100 * next.stride + 4);
  const bands = detectScroll(prev, next, rowPrints(prev), rowPrints(next));
  assert.deepEqual(bands, [
    { y0: 0, y1: 100, dy: 20 },
    { y0: 101, y1: 236, dy: 20 },
  ]);
  for (const s of bands) for (let y = s.y0; y < s.y1; y++) assert.ok(rowsEqual(next, y, prev, y + s.dy), `row ${y}`);
  // Row 100 is left to the tile diff.
  assert.ok(dirtyTiles(prev, next, { same: bands }).some((r) => r.y <= 100 && r.y + r.height > 100));
});

test('bands are ordered so that none reads rows an earlier one wrote (scrolling down: bottom first)', () => {
  const prev = page(300, 300, 100);
  const next = page(300, 300, 70);
  (next.data as Buffer).writeUInt32LE(0x123456, 150 * next.stride + 4);
  const bands = detectScroll(prev, next, rowPrints(prev), rowPrints(next));
  assert.deepEqual(bands, [
    { y0: 151, y1: 300, dy: -30 },
    { y0: 30, y1: 150, dy: -30 },
  ]);
});

test('property: any vertical scroll with fresh rows coming in is found, and the band is exact', () => {
  fc.assert(
    fc.property(fc.integer({ min: 64, max: 200 }), fc.integer({ min: 130, max: 300 }), fc.integer({ min: -60, max: 60 }), fc.integer({ min: 0, max: 2 }), (w, h, dy, padWords) => {
      const pad = padWords * 4;
      fc.pre(dy !== 0 && h - Math.abs(dy) >= MIN_SCROLL_ROWS);
      const prev = page(w, h, 1000, pad);
      const next = page(w, h, 1000 + dy, pad);
      const [s, ...more] = detectScroll(prev, next, rowPrints(prev), rowPrints(next));
      assert.deepEqual(s, dy > 0 ? { y0: 0, y1: h - dy, dy } : { y0: -dy, y1: h, dy });
      assert.equal(more.length, 0);
      for (let y = s!.y0; y < s!.y1; y++) assert.ok(rowsEqual(next, y, prev, y + s!.dy));
    }),
  );
});
