import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { allTiles, dirtyTiles, keyframeBands, type Rect } from '../../agent/frames/tiles.js';
import type { RawFrame } from '../../agent/platform/port.js';

function frame(width: number, height: number, pad = 0, fill = 0x11): RawFrame {
  const stride = width * 4 + pad;
  return { width, height, stride, data: Buffer.alloc(stride * height, fill) };
}
const clone = (f: RawFrame): RawFrame => ({ ...f, data: Buffer.from(f.data) });
const setPx = (f: RawFrame, x: number, y: number, v: number) => (f.data as Buffer).writeUInt32LE(v, y * f.stride + x * 4);
const covers = (r: Rect, x: number, y: number) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;

test('identical frames have no dirty tiles, even when row padding differs', () => {
  const a = frame(300, 200, 8);
  const b = clone(a);
  (b.data as Buffer).fill(0xee, 300 * 4, 300 * 4 + 8); // padding of row 0 only
  assert.deepEqual(dirtyTiles(a, b), []);
});

test('one changed pixel marks exactly its tile', () => {
  const a = frame(300, 200);
  const b = clone(a);
  setPx(b, 100, 70, 0xdeadbeef);
  assert.deepEqual(dirtyTiles(a, b, { mergeWidth: 0 }), [{ x: 64, y: 64, width: 64, height: 64 }]);
});

test('edge tiles are clipped to the frame', () => {
  const a = frame(300, 200);
  const b = clone(a);
  setPx(b, 299, 199, 1);
  assert.deepEqual(dirtyTiles(a, b, { mergeWidth: 0 }), [{ x: 256, y: 192, width: 44, height: 8 }]);
});

test('no previous frame or a size change gives every tile', () => {
  const b = frame(300, 200);
  const every = allTiles(300, 200, { mergeWidth: 0 });
  assert.equal(every.length, 5 * 4);
  assert.deepEqual(dirtyTiles(undefined, b, { mergeWidth: 0 }), every);
  assert.deepEqual(dirtyTiles(frame(320, 200), b, { mergeWidth: 0 }), every);
});

test('adjacent dirty tiles merge into runs no wider than mergeWidth', () => {
  const a = frame(640, 64);
  const b = clone(a);
  for (let x = 0; x < 640; x += 64) setPx(b, x, 0, 7);
  const merged = dirtyTiles(a, b, { mergeWidth: 256 });
  assert.deepEqual(
    merged.map((r) => [r.x, r.width]),
    [
      [0, 256],
      [256, 256],
      [512, 128],
    ],
  );
});

test('property: every changed pixel is covered by exactly one rectangle, and rectangles only cover changed tiles', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 150 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }),
      fc.constantFrom(0, 128, 512),
      (w, h, points, mergeWidth) => {
        const a = frame(w, h, 4);
        const b = clone(a);
        const changed = points.map(([x, y]) => [x % w, y % h] as const);
        for (const [x, y] of changed) setPx(b, x, y, 0xabcdef01);
        const rects = dirtyTiles(a, b, { tileSize: 32, mergeWidth });
        for (const [x, y] of changed) assert.equal(rects.filter((r) => covers(r, x, y)).length, 1);
        const tilesOfChanges = new Set(changed.map(([x, y]) => `${Math.floor(x / 32)},${Math.floor(y / 32)}`));
        const coveredTiles = rects.reduce((n, r) => n + Math.ceil(r.width / 32) * Math.ceil(r.height / 32), 0);
        assert.equal(coveredTiles, tilesOfChanges.size);
      },
    ),
  );
});

test('a keyframe is full-width bands covering the frame exactly once', () => {
  const bands = keyframeBands(1920, 1080);
  assert.deepEqual(
    bands.map((b) => [b.x, b.y, b.width, b.height]),
    [
      [0, 0, 1920, 256],
      [0, 256, 1920, 256],
      [0, 512, 1920, 256],
      [0, 768, 1920, 256],
      [0, 1024, 1920, 56],
    ],
  );
  assert.deepEqual(keyframeBands(800, 100), [{ x: 0, y: 0, width: 800, height: 100 }]);
});

test('dense rows of dirty tiles become one band per run of rows, up to denseBand tall', () => {
  const a = frame(640, 384);
  const b = clone(a);
  // Rows 0-4 (64 px each): tiles 1..7 of 10 dirty (dense); row 5: one tile dirty (sparse).
  for (let row = 0; row < 5; row++) for (let c = 1; c < 8; c++) setPx(b, c * 64, row * 64, 9);
  setPx(b, 600, 5 * 64, 9);
  assert.deepEqual(dirtyTiles(a, b, { denseBand: 256, mergeWidth: 512 }), [
    { x: 64, y: 0, width: 448, height: 256 },
    { x: 64, y: 256, width: 448, height: 64 },
    { x: 576, y: 320, width: 64, height: 64 },
  ]);
  // Off by default: the same change as 512 px runs per row.
  assert.equal(dirtyTiles(a, b, { mergeWidth: 512 }).length, 6);
});

test('property: with dense bands every changed pixel is still covered by exactly one rectangle', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 150 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 60 }), fc.constantFrom(32, 64, 100), (w, h, points, band) => {
      const a = frame(w, h, 4);
      const b = clone(a);
      const changed = points.map(([x, y]) => [x % w, y % h] as const);
      for (const [x, y] of changed) setPx(b, x, y, 0xabcdef01);
      const rects = dirtyTiles(a, b, { tileSize: 16, mergeWidth: 64, denseBand: band });
      for (const [x, y] of changed) assert.equal(rects.filter((r) => covers(r, x, y)).length, 1);
      for (const r of rects) assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.width <= w && r.y + r.height <= h && r.width > 0 && r.height > 0);
      for (const [i, r] of rects.entries()) for (const q of rects.slice(i + 1)) assert.ok(r.x + r.width <= q.x || q.x + q.width <= r.x || r.y + r.height <= q.y || q.y + q.height <= r.y, 'no overlap');
    }),
  );
});
