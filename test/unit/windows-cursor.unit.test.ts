/**
 * The Windows pointer's pure parts on hand-built buffers: decoding GetDIBits' 32-bit output of a
 * cursor's mask and colour bitmaps into premultiplied ARGB (cursor-decode.ts), and drawing the
 * pointer into grabbed frames without touching frames already handed out (cursor-compositor.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type CursorImage, drawCursor } from '../../agent/frames/cursor-overlay.js';
import type { RawFrame } from '../../agent/platform/port.js';
import { createPointerCompositor } from '../../agent/platform/windows/cursor-compositor.js';
import { shapeFromColor, shapeFromMonochrome } from '../../agent/platform/windows/cursor-decode.js';

const BLACK = 0xff000000;
const WHITE = 0xffffffff;

/** A 32-bit DIB as GetDIBits gives a 1-bit mask: '1' -> 0x00FFFFFF, '0' -> 0 (BGRX bytes). */
function maskBits(rows: string[]): Uint8Array {
  const out = new Uint8Array(rows.length * rows[0]!.length * 4);
  rows.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) if (row[x] === '1') out.set([0xff, 0xff, 0xff, 0], (y * row.length + x) * 4);
  });
  return out;
}

/** BGRA bytes from [r, g, b, a] pixels. */
function colorBits(px: [number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(px.length * 4);
  px.forEach(([r, g, b, a], i) => {
    out.set([b, g, r, a], i * 4);
  });
  return out;
}

describe('cursor decoding (GetDIBits output -> premultiplied ARGB)', () => {
  test('monochrome: AND/XOR give black, white, transparent; an inverting pixel is black with a white outline', () => {
    // 5x3 cursor; the mask bitmap is 5x6: AND rows, then XOR rows.
    const and = ['00111', '11111', '11111'];
    const xor = ['01000', '00000', '00010'];
    const s = shapeFromMonochrome(maskBits([...and, ...xor]), 5, 3, 1, 2);
    assert.deepEqual([s.width, s.height, s.xhot, s.yhot], [5, 3, 1, 2]);
    assert.equal(s.argb.length, 15);
    const at = (x: number, y: number) => s.argb[y * 5 + x];
    assert.equal(at(0, 0), BLACK, 'AND 0, XOR 0: black');
    assert.equal(at(1, 0), WHITE, 'AND 0, XOR 1: white');
    assert.equal(at(0, 2), 0, 'AND 1, XOR 0, far from any inverting pixel: transparent');
    assert.equal(at(3, 2), BLACK, 'AND 1, XOR 1 (invert): drawn black');
    for (const [x, y] of [
      [2, 2],
      [4, 2],
      [3, 1],
    ]) {
      assert.equal(at(x!, y!), WHITE, `(${x},${y}) beside the inverting pixel: white outline`);
    }
    assert.equal(at(2, 1), 0, 'diagonal neighbours get no outline');
    assert.equal(at(2, 0), 0);
  });

  test('monochrome: the outline never paints over black or white cursor pixels', () => {
    const s = shapeFromMonochrome(maskBits(['011', '111', '010', '010']), 3, 2, 0, 0);
    // Row 0: black, inverting, transparent; row 1: transparent, inverting, transparent.
    assert.deepEqual([...s.argb], [BLACK, BLACK, WHITE, WHITE, BLACK, WHITE]);
  });

  test('colour with alpha: straight alpha premultiplied, the mask ignored', () => {
    const color = colorBits([
      [200, 100, 0, 128],
      [255, 255, 255, 255],
      [90, 60, 30, 0],
      [0, 0, 0, 64],
    ]);
    const s = shapeFromColor(color, maskBits(['1111']), 4, 1, 3, 0);
    assert.deepEqual([s.width, s.height, s.xhot, s.yhot], [4, 1, 3, 0]);
    assert.equal(s.argb[0], 0x80643200, '200*128/255 = 100, 100*128/255 = 50');
    assert.equal(s.argb[1], WHITE);
    assert.equal(s.argb[2], 0, 'alpha 0: nothing, whatever the colour');
    assert.equal(s.argb[3], 0x40000000, 'a translucent shadow');
    for (const p of s.argb) {
      const a = p >>> 24;
      assert.ok(((p >>> 16) & 0xff) <= a && ((p >>> 8) & 0xff) <= a && (p & 0xff) <= a, 'premultiplied: no channel above alpha');
    }
  });

  test('colour without alpha: the AND mask gives the alpha; masked coloured pixels invert (black + outline)', () => {
    const color = colorBits([
      [10, 20, 30, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [255, 255, 255, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    const s = shapeFromColor(color, maskBits(['011', '111']), 3, 2, 0, 0);
    assert.equal(s.argb[0], 0xff0a141e, 'AND 0: the colour, opaque');
    assert.equal(s.argb[1], 0, 'AND 1, black colour: transparent');
    assert.equal(s.argb[3], BLACK, 'AND 1 with a colour: inverts -> black');
    assert.equal(s.argb[4], WHITE, 'the transparent pixel right of it: outline');
    assert.equal(s.argb[2], 0, 'transparent, not beside it');
    assert.equal(s.argb[5], 0);
  });
});

const GREY = 0x80;

function greyFrame(width: number, height: number, pad = 0): RawFrame {
  const stride = width * 4 + pad;
  return { width, height, stride, data: new Uint8Array(stride * height).fill(GREY) };
}

function pointerAt(x: number, y: number, argb: Uint32Array, size = 3): CursorImage {
  return { x, y, xhot: 1, yhot: 1, width: size, height: size, argb };
}

const red = new Uint32Array(9).fill(0xffff0000);
const blue = new Uint32Array(9).fill(0xff0000ff);
const px = (f: RawFrame, x: number, y: number) => [...f.data.subarray(y * f.stride + x * 4, y * f.stride + x * 4 + 3)];

describe('pointer compositor', () => {
  test('a new frame gets the pointer in place; the same pointer again returns the same result', () => {
    const c = createPointerCompositor();
    const f = greyFrame(20, 10);
    const out = c.compose(f, pointerAt(5, 5, red));
    assert.equal(out, f, 'a frame nobody has seen yet is drawn into, no copy');
    assert.deepEqual(px(out, 5, 5), [0, 0, 255], 'red at the hotspot (BGR)');
    assert.deepEqual(px(out, 4, 4), [0, 0, 255], 'and at the top-left (hotspot 1,1)');
    assert.deepEqual(px(out, 7, 5), [GREY, GREY, GREY]);
    assert.equal(c.compose(f, pointerAt(5, 5, red)), out, 'nothing changed: the same object (the helper sends nothing)');
  });

  test('the grabber repeating its frame while the pointer moves: a copy with the old place restored; handed-out frames untouched', () => {
    const c = createPointerCompositor();
    const f = greyFrame(20, 10, 8);
    const first = c.compose(f, pointerAt(5, 5, red));
    const snapshot = first.data.slice();
    const moved = c.compose(f, pointerAt(12, 5, red));
    assert.notEqual(moved, first, 'a new object, so diffing against the previous frame sees the move');
    assert.deepEqual(px(moved, 5, 5), [GREY, GREY, GREY], 'the old place shows the screen again');
    assert.deepEqual(px(moved, 12, 5), [0, 0, 255]);
    assert.deepEqual(first.data, snapshot, 'the frame handed out before was not written into');
    const reshaped = c.compose(f, pointerAt(12, 5, blue));
    assert.deepEqual(px(reshaped, 12, 5), [255, 0, 0], 'a new shape at the same place');
    const hidden = c.compose(f, undefined);
    assert.deepEqual(hidden.data.subarray(0, hidden.stride * hidden.height - 8), greyFrame(20, 10, 8).data.subarray(0, hidden.stride * hidden.height - 8));
    assert.deepEqual(px(hidden, 12, 5), [GREY, GREY, GREY], 'hidden: no pointer anywhere');
    assert.equal(c.compose(f, undefined), hidden);
  });

  test('the copy for a moved pointer goes into a recycled frame of the right size, never into the source or the previous result', () => {
    const c = createPointerCompositor();
    const f = greyFrame(20, 10, 8);
    assert.equal(c.compose(f, pointerAt(5, 5, red)), f);
    const spare = greyFrame(20, 10, 8);
    spare.data.fill(0x33);
    const moved = c.compose(f, pointerAt(12, 5, red), spare);
    assert.equal(moved.data, spare.data, 'the recycled buffer holds the copy');
    assert.notEqual(moved, spare, 'as a new frame object');
    assert.deepEqual(px(moved, 5, 5), [GREY, GREY, GREY]);
    assert.deepEqual(px(moved, 12, 5), [0, 0, 255]);
    assert.deepEqual(px(moved, 19, 9), [GREY, GREY, GREY], 'the whole frame was copied over the old bytes');
    // Offered back while still the previous result, or the grabber's repeated source: neither is written into.
    const movedBytes = moved.data.slice();
    const sourceBytes = f.data.slice();
    const again = c.compose(f, pointerAt(14, 6, red), moved);
    assert.notEqual(again.data, moved.data);
    assert.deepEqual(moved.data, movedBytes, 'the previous result is untouched');
    const third = c.compose(f, pointerAt(3, 3, red), { ...f });
    assert.notEqual(third.data, f.data);
    assert.deepEqual(f.data, sourceBytes, 'the source is untouched');
    const small = greyFrame(19, 10, 8);
    const fourth = c.compose(f, pointerAt(6, 6, red), small);
    assert.notEqual(fourth.data, small.data, 'another size: a new buffer');
    assert.deepEqual(px(fourth, 6, 6), [0, 0, 255]);
  });

  test('a pointer partly or wholly off the frame is clipped', () => {
    const c = createPointerCompositor();
    const f = greyFrame(4, 4);
    c.compose(f, pointerAt(0, 0, red));
    assert.deepEqual(px(f, 0, 0), [0, 0, 255]);
    assert.deepEqual(px(f, 1, 1), [0, 0, 255]);
    const off = c.compose(f, pointerAt(-10, 40, red));
    assert.deepEqual(off.data, greyFrame(4, 4).data, 'off screen: the restored frame alone');
  });

  test('any sequence of new and repeated frames and pointer moves gives exactly frame + pointer, and never changes an earlier result', () => {
    const W = 12;
    const H = 8;
    const shapes = [red, blue, new Uint32Array(9).fill(0x80000000)];
    const step = fc.record({
      newFrame: fc.boolean(),
      seed: fc.integer({ min: 0, max: 255 }),
      pointer: fc.option(fc.record({ x: fc.integer({ min: -3, max: W + 2 }), y: fc.integer({ min: -3, max: H + 2 }), shape: fc.integer({ min: 0, max: 2 }) }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
        const c = createPointerCompositor();
        let source: RawFrame | undefined;
        let pristine: Uint8Array | undefined;
        const handed: { frame: RawFrame; bytes: Uint8Array }[] = [];
        for (const s of steps) {
          if (s.newFrame || !source) {
            const data = new Uint8Array(W * H * 4);
            for (let i = 0; i < data.length; i++) data[i] = (i * 7 + s.seed) & 0xff;
            source = { width: W, height: H, stride: W * 4, data };
            pristine = data.slice();
          }
          const p = s.pointer ? pointerAt(s.pointer.x, s.pointer.y, shapes[s.pointer.shape]!) : undefined;
          const out = c.compose(source, p);
          const expected: RawFrame = { width: W, height: H, stride: W * 4, data: pristine!.slice() };
          if (p) drawCursor(expected, p);
          assert.deepEqual(out.data, expected.data);
          for (const h of handed) assert.deepEqual(h.frame.data, h.bytes, 'an earlier result was written into');
          handed.push({ frame: out, bytes: out.data.slice() });
        }
      }),
      { numRuns: 300 },
    );
  });
});
