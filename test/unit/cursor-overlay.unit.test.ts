import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CursorImage, drawCursor } from '../../agent/frames/cursor-overlay.js';
import type { RawFrame } from '../../agent/platform/port.js';

/** A grey BGRX frame with 4 bytes of row padding. */
function grey(width: number, height: number): RawFrame {
  return { width, height, stride: width * 4 + 4, data: new Uint8Array((width * 4 + 4) * height).fill(100) };
}
const bgr = (f: RawFrame, x: number, y: number) => [...f.data.subarray(y * f.stride + x * 4, y * f.stride + x * 4 + 3)];

/** 3x3: opaque red centre, half-transparent white (premultiplied) around it, one fully clear corner. */
const cursor = (x: number, y: number): CursorImage => {
  const half = 0x80808080; // alpha 128, each channel 128 premultiplied
  const argb = new Uint32Array([0, half, half, half, 0xffff0000, half, half, half, half]);
  return { x, y, xhot: 1, yhot: 1, width: 3, height: 3, argb };
};

test('the hotspot lands on the pointer position; opaque, blended and clear pixels', () => {
  const f = grey(10, 10);
  drawCursor(f, cursor(5, 5));
  assert.deepEqual(bgr(f, 5, 5), [0, 0, 255], 'opaque red at the hotspot (BGR order)');
  assert.deepEqual(bgr(f, 4, 4), [100, 100, 100], 'clear pixel leaves the frame alone');
  assert.deepEqual(bgr(f, 6, 6), [177, 177, 177], '128 + 100 * 127 / 255');
  assert.deepEqual(bgr(f, 7, 7), [100, 100, 100], 'outside the cursor');
});

test('a pointer at the edge is clipped, not wrapped into the next row or past the buffer', () => {
  const f = grey(4, 3);
  const before = Uint8Array.from(f.data);
  drawCursor(f, cursor(0, 0)); // top-left pixel of the cursor is off screen
  assert.deepEqual(bgr(f, 0, 0), [0, 0, 255]);
  drawCursor(f, cursor(3, 2)); // bottom-right corner
  assert.deepEqual(bgr(f, 3, 2), [0, 0, 255]);
  // Row padding bytes (after x = 3) are never touched.
  for (let y = 0; y < 3; y++) assert.deepEqual([...f.data.subarray(y * f.stride + 16, y * f.stride + 20)], [...before.subarray(y * f.stride + 16, y * f.stride + 20)]);
  const drawn = Uint8Array.from(f.data);
  drawCursor(f, cursor(-10, -10)); // entirely off screen: nothing happens
  drawCursor(f, cursor(50, 50));
  assert.deepEqual(f.data, drawn);
});
