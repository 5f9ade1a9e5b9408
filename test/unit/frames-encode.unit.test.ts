import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import sharp from 'sharp';
import { encodePortable, encodeTile, extractPixels, TileEncoding } from '../../agent/frames/encode.js';
import { turboJpeg } from '../../agent/frames/turbo-jpeg.js';
import type { RawFrame } from '../../agent/platform/port.js';

/** A BGRX frame: left half red, right half blue, with 8 bytes of row padding. */
function twoColour(width: number, height: number): RawFrame {
  const stride = width * 4 + 8;
  const data = Buffer.alloc(stride * height, 0x55);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = y * stride + x * 4;
      if (x < width / 2) data.set([0, 0, 255, 0], o);
      else data.set([255, 0, 0, 0], o);
    }
  }
  return { width, height, stride, data };
}

test('extractPixels packs a rectangle and swaps BGRX to RGBA', () => {
  const f = twoColour(8, 4);
  const px = extractPixels(f, { x: 3, y: 1, width: 2, height: 2 });
  assert.deepEqual([...px], [255, 0, 0, 255, 0, 0, 255, 255, 255, 0, 0, 255, 0, 0, 255, 255]);
  const bgra = extractPixels(f, { x: 3, y: 1, width: 2, height: 1 }, 'bgra');
  assert.deepEqual([...bgra], [0, 0, 255, 255, 255, 0, 0, 255]);
});

for (const [name, encoding] of [
  ['JPEG', TileEncoding.TILE_JPEG],
  ['WebP', TileEncoding.TILE_WEBP],
  ['PNG', TileEncoding.TILE_PNG],
] as const) {
  test(`${name} tile decodes back to roughly the same colours`, async () => {
    const f = twoColour(128, 64);
    const tile = await encodeTile(f, { x: 32, y: 0, width: 64, height: 64 }, encoding, 80);
    assert.equal(tile.encoding, encoding);
    assert.deepEqual([tile.x, tile.y, tile.width, tile.height], [32, 0, 64, 64]);
    const { data, info } = await sharp(tile.data!).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [64, 64, 3]);
    const at = (x: number, y: number) => [...data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3)];
    const [r1, g1, b1] = at(10, 30) as [number, number, number]; // frame x 42: red
    const [r2, g2, b2] = at(54, 30) as [number, number, number]; // frame x 86: blue
    assert.ok(r1 > 200 && g1 < 50 && b1 < 50, `expected red, got ${[r1, g1, b1]}`);
    assert.ok(b2 > 200 && g2 < 50 && r2 < 50, `expected blue, got ${[r2, g2, b2]}`);
  });
}

test('raw tiles are deflated BGRA, exact', async () => {
  const f = twoColour(16, 4);
  const tile = await encodeTile(f, { x: 6, y: 1, width: 4, height: 2 }, TileEncoding.TILE_RAW_BGRA, 50);
  const px = inflateRawSync(tile.data!);
  assert.equal(px.length, 4 * 2 * 4);
  assert.deepEqual([...px.subarray(0, 8)], [0, 0, 255, 255, 0, 0, 255, 255]);
  assert.deepEqual([...px.subarray(8, 16)], [255, 0, 0, 255, 255, 0, 0, 255]);
});

test('lower quality gives a smaller JPEG on a busy image', async () => {
  const f = twoColour(256, 128);
  for (let i = 0; i < f.data.length; i++) f.data[i] = (i * 7919) & 0xff;
  const rect = { x: 0, y: 0, width: 256, height: 128 };
  const hi = await encodeTile(f, rect, TileEncoding.TILE_JPEG, 90);
  const lo = await encodeTile(f, rect, TileEncoding.TILE_JPEG, 30);
  assert.ok(lo.data!.length < hi.data!.length);
});

/** Decoded RGB of one pixel of a JPEG. */
async function pixelOf(jpeg: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * 3;
  return [data[o]!, data[o + 1]!, data[o + 2]!];
}

test('the portable JPEG path (sharp, used where libturbojpeg is missing) keeps the colours', async () => {
  const f = twoColour(128, 64);
  const jpeg = await encodePortable(f, { x: 32, y: 0, width: 64, height: 64 }, TileEncoding.TILE_JPEG, 80);
  const [r, g, b] = await pixelOf(jpeg, 10, 30);
  assert.ok(r > 200 && g < 50 && b < 50, `expected red, got ${[r, g, b]}`);
});

test('TurboJPEG reads BGRX in place: an offset rectangle of a padded frame, small and large (worker thread)', async () => {
  const turbo = turboJpeg();
  // test/run.sh installs libturbojpeg0 (infra/install-deps.sh); without it the agent falls back to sharp.
  assert.ok(turbo, 'libturbojpeg.so.0 is missing: run bash infra/install-deps.sh');
  const f = twoColour(1280, 640);
  const small = await turbo.encode(f, { x: 600, y: 8, width: 64, height: 32 }, 85);
  assert.deepEqual([...small.subarray(0, 2)], [0xff, 0xd8], 'a JPEG starts with SOI');
  // Frame x 610 is red, x 650 blue: the rectangle starts at x 600.
  const red = await pixelOf(small, 10, 16);
  const blue = await pixelOf(small, 50, 16);
  assert.ok(red[0] > 200 && red[2] < 50, `expected red, got ${red}`);
  assert.ok(blue[2] > 200 && blue[0] < 50, `expected blue, got ${blue}`);
  const big = await turbo.encode(f, { x: 0, y: 0, width: 1280, height: 640 }, 70);
  const { info } = await sharp(big).toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [1280, 640]);
  const right = await pixelOf(big, 1000, 600);
  assert.ok(right[2] > 200 && right[0] < 50, `expected blue, got ${right}`);
});
