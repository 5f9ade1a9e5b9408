/**
 * Captured pixels into recycled frames (agent/platform/windows/frame-copy.ts) with a Buffer as the
 * source: the rows GDI and DXGI copy out of native memory go through the same packRows, so the
 * buffer choice and the row-pitch repacking are checked here; test/windows/capture.wine.ts runs
 * them on native memory (RtlMoveMemory) under Wine.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { RawFrame } from '../../agent/platform/port.js';
import { frameBuffer, recycledData, sharesMemory } from '../../agent/platform/frame-buffer.js';
import { type CopyFrom, packRows } from '../../agent/platform/windows/frame-copy.js';

/** A CopyFrom reading `src`, counting calls; it refuses reads past the source, as native memory would fault. */
function bufferSource(src: Uint8Array): CopyFrom & { calls: number } {
  const f = ((dst, dstOffset, srcOffset, len) => {
    f.calls++;
    assert.ok(srcOffset >= 0 && srcOffset + len <= src.byteLength, `read ${srcOffset}+${len} past a ${src.byteLength}-byte source`);
    assert.ok(dstOffset >= 0 && dstOffset + len <= dst.byteLength, `write ${dstOffset}+${len} past a ${dst.byteLength}-byte frame`);
    dst.set(src.subarray(srcOffset, srcOffset + len), dstOffset);
  }) as CopyFrom & { calls: number };
  f.calls = 0;
  return f;
}

/** `height` rows of `width` pixels, `pitch` bytes apart; padding bytes 0xEE (never to be copied). */
function pitched(width: number, height: number, pitch: number, seed: number): { src: Buffer; packed: Buffer } {
  const src = Buffer.alloc(pitch * (height - 1) + width * 4, 0xee);
  const packed = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * 4; i++) {
      const v = (y * 31 + i * 7 + seed) & 0x7f; // never the padding byte
      src[y * pitch + i] = v;
      packed[y * width * 4 + i] = v;
    }
  }
  return { src, packed };
}

const frameOf = (width: number, height: number, fill: number): RawFrame => ({ width, height, stride: width * 4, data: Buffer.alloc(width * height * 4, fill) });

describe('packRows: captured rows into a recycled frame', () => {
  test('a recycled frame of the right size receives the pixels in its own buffer; the frame object is new', () => {
    const { src, packed } = pitched(1366, 4, 1366 * 4, 1);
    const recycle = frameOf(1366, 4, 0x11);
    const r = packRows(bufferSource(src), 1366 * 4, 1366, 4, recycle);
    assert.ok(r.ok);
    assert.equal(r.value.data, recycle.data, 'the same buffer');
    assert.notEqual(r.value, recycle, 'a new frame object: identity means "nothing changed" to callers');
    assert.deepEqual([r.value.width, r.value.height, r.value.stride], [1366, 4, 1366 * 4]);
    assert.ok(Buffer.from(r.value.data).equals(packed));
  });

  test('a recycled frame of another size is left alone and a new buffer is made', () => {
    const { src, packed } = pitched(64, 8, 256, 2);
    for (const recycle of [frameOf(64, 7, 0x22), frameOf(63, 8, 0x22), frameOf(65, 8, 0x33), { width: 64, height: 8, stride: 260, data: Buffer.alloc(260 * 8, 0x44) }, undefined]) {
      const before = recycle ? Buffer.from(recycle.data) : undefined;
      const r = packRows(bufferSource(src), 256, 64, 8, recycle);
      assert.ok(r.ok);
      if (recycle) {
        assert.notEqual(r.value.data, recycle.data);
        assert.ok(Buffer.from(recycle.data).equals(before!), 'the refused recycle was not written into');
      }
      assert.ok(Buffer.from(r.value.data).equals(packed));
    }
  });

  test('same byte count, other shape (8x64 into 64x8): the buffer is reused, the frame says the new shape', () => {
    const { src, packed } = pitched(8, 64, 32, 3);
    const recycle = frameOf(64, 8, 0x55);
    const r = packRows(bufferSource(src), 32, 8, 64, recycle);
    assert.ok(r.ok);
    assert.equal(r.value.data, recycle.data);
    assert.deepEqual([r.value.width, r.value.height, r.value.stride], [8, 64, 32]);
    assert.ok(Buffer.from(r.value.data).equals(packed));
  });

  test('pitch > width * 4: each row is copied alone and the padding never lands in the frame', () => {
    // 37 pixels = 148 bytes per row; D3D11 pads staging rows (e.g. to 256), DXGI's mapped desktop too.
    for (const pitch of [148 + 1, 160, 256, 4096]) {
      const { src, packed } = pitched(37, 5, pitch, pitch);
      const copy = bufferSource(src);
      const r = packRows(copy, pitch, 37, 5, frameOf(37, 5, 0));
      assert.ok(r.ok);
      assert.equal(copy.calls, 5, 'one copy per row');
      assert.ok(Buffer.from(r.value.data).equals(packed), `pitch ${pitch}`);
      assert.ok(!Buffer.from(r.value.data).includes(0xee), 'no padding byte');
    }
    const { src } = pitched(37, 5, 148, 0);
    const copy = bufferSource(src);
    assert.ok(packRows(copy, 148, 37, 5).ok);
    assert.equal(copy.calls, 1, 'packed rows: one copy for the whole frame');
  });

  test('any size, pitch and recycle: the frame is exactly the packed rows, in the recycled buffer iff its size fits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 70 }),
        fc.option(fc.integer({ min: 0, max: 2000 }), { nil: undefined }),
        (width, height, pad, recycleBytes) => {
          const pitch = width * 4 + pad;
          const { src, packed } = pitched(width, height, pitch, pad);
          const recycle = recycleBytes === undefined ? undefined : { width: 1, height: 1, stride: 4, data: new Uint8Array(recycleBytes) };
          const r = packRows(bufferSource(src), pitch, width, height, recycle);
          assert.ok(r.ok);
          assert.ok(Buffer.from(r.value.data).equals(packed));
          assert.equal(r.value.data === recycle?.data, recycleBytes === width * height * 4);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('hostile sizes and pitches are errors before anything is copied or allocated', () => {
    const copy = bufferSource(Buffer.alloc(16));
    // [pitch, width, height]
    const cases: [number, number, number][] = [
      [3, 1, 1], // pitch below a row
      [63, 16, 1],
      [0, 1, 1],
      [-1, 1, 1],
      [16, 0, 1],
      [16, 1, 0],
      [16, -1, 1],
      [16, 1, -1],
      [2 ** 31 - 1, 2 ** 31 - 1, 1],
      [2 ** 32 - 1, 2 ** 32 - 1, 2],
      [2 ** 63 - 1, 1, 2 ** 63 - 1],
      [Number.NaN, 4, 4],
      [16, Number.POSITIVE_INFINITY, 1],
      [16, 16385 * 16384, 1],
      [16, 4.5, 1],
    ];
    for (const [pitch, width, height] of cases) {
      const r = packRows(copy, pitch, width, height);
      assert.equal(r.ok, false, `${pitch} ${width}x${height}`);
      if (!r.ok) assert.equal(r.error.code, 'PLATFORM_ERROR');
    }
    assert.equal(copy.calls, 0);
  });
});

describe('frameBuffer and sharesMemory', () => {
  test('frameBuffer takes the recycled buffer only at the exact byte count', () => {
    const f = frameOf(2, 2, 0);
    assert.equal(frameBuffer(f, 16), f.data);
    assert.notEqual(frameBuffer(f, 15), f.data);
    assert.notEqual(frameBuffer(f, 17), f.data);
    assert.equal(frameBuffer(undefined, 16).byteLength, 16);
  });

  test('a recycled buffer that is memory still read (a base, a frame handed out) is never offered', () => {
    const f = frameOf(2, 2, 0);
    const other = frameOf(2, 2, 1);
    assert.equal(recycledData(f, 16, undefined, other.data), f.data);
    assert.equal(recycledData(f, 16, other.data, f.data), undefined);
    assert.equal(recycledData(f, 16, f.data.subarray(8)), undefined);
    assert.equal(recycledData(f, 15), undefined);
    assert.equal(recycledData(undefined, 16), undefined);
    assert.notEqual(frameBuffer(f, 16, f.data), f.data);
  });

  test('overlap, not ArrayBuffer identity: small Buffers share one pooled ArrayBuffer', () => {
    const a = Buffer.allocUnsafe(64);
    const b = Buffer.allocUnsafe(64);
    assert.equal(a.buffer, b.buffer, 'precondition: Node pools small allocUnsafe buffers');
    assert.equal(sharesMemory(a, b), false);
    assert.equal(sharesMemory(a, a), true);
    assert.equal(sharesMemory(a, a.subarray(63)), true);
    assert.equal(sharesMemory(a.subarray(0, 32), a.subarray(32)), false);
    assert.equal(sharesMemory(a.subarray(0, 33), a.subarray(32)), true);
    assert.equal(sharesMemory(new Uint8Array(8), new Uint8Array(8)), false);
  });
});
