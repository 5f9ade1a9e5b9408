/**
 * Puts the pointer into the frames a grabber returns without ever writing into a frame that was
 * already handed out (the capture loop and the session helper diff each frame against the previous
 * one, and compare frames by identity: the same object means "nothing changed").
 *
 * A new frame from the grabber gets the pointer drawn in place, and the pixels under it are kept.
 * The DXGI grabber hands out the same frame object again when nothing on screen changed (also when
 * only the pointer moved, which duplication reports apart). Then: pointer unchanged -> the previous
 * result again (same object: nothing to send); pointer moved, changed shape or hid -> a copy of the
 * frame with the kept pixels put back and the pointer drawn anew.
 */
import { type CursorImage, cursorArea, drawCursor } from '../../frames/cursor-overlay.js';
import type { RawFrame } from '../port.js';
import { recycledData } from '../frame-buffer.js';

export interface PointerCompositor {
  /**
   * `frame` with `pointer` drawn (none when undefined), as a frame nobody has seen yet or the previous
   * result. A copy it has to make goes into `recycle`'s buffer (a frame the caller is done with) when
   * the size fits and it is not the memory of `frame` or of the previous result.
   */
  compose(frame: RawFrame, pointer: CursorImage | undefined, recycle?: RawFrame): RawFrame;
}

interface Under {
  x0: number;
  y0: number;
  rowBytes: number;
  rows: number;
  pixels: Uint8Array;
}

/** The part of `frame` that drawCursor touches for `p`, saved. */
function saveUnder(frame: RawFrame, p: CursorImage): Under | undefined {
  const { x0, y0, x1, y1 } = cursorArea(frame, p);
  if (x1 <= x0 || y1 <= y0) return undefined;
  const rowBytes = (x1 - x0) * 4;
  const rows = y1 - y0;
  const pixels = new Uint8Array(rowBytes * rows);
  for (let y = 0; y < rows; y++) {
    const o = (y0 + y) * frame.stride + x0 * 4;
    pixels.set(frame.data.subarray(o, o + rowBytes), y * rowBytes);
  }
  return { x0, y0, rowBytes, rows, pixels };
}

function putBack(frame: RawFrame, u: Under): void {
  for (let y = 0; y < u.rows; y++) frame.data.set(u.pixels.subarray(y * u.rowBytes, (y + 1) * u.rowBytes), (u.y0 + y) * frame.stride + u.x0 * 4);
}

const samePointer = (a: CursorImage | undefined, b: CursorImage | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.argb === b.argb && a.x === b.x && a.y === b.y && a.xhot === b.xhot && a.yhot === b.yhot && a.width === b.width);

/** A compositor for one grabber's frames. */
export function createPointerCompositor(): PointerCompositor {
  let lastSource: RawFrame | undefined;
  let lastOut: RawFrame | undefined;
  let lastPointer: CursorImage | undefined;
  /** What `lastSource` showed where the pointer was drawn into it. */
  let under: Under | undefined;
  return {
    compose(frame, pointer, recycle) {
      if (frame === lastSource && lastOut) {
        if (samePointer(pointer, lastPointer)) return lastOut;
        const fits = recycledData(recycle, frame.data.byteLength, frame.data, lastOut.data);
        if (fits) fits.set(frame.data);
        const data = fits ?? frame.data.slice();
        const copy: RawFrame = { width: frame.width, height: frame.height, stride: frame.stride, data };
        if (under) putBack(copy, under);
        if (pointer) drawCursor(copy, pointer);
        lastOut = copy;
        lastPointer = pointer;
        return copy;
      }
      under = pointer ? saveUnder(frame, pointer) : undefined;
      if (pointer) drawCursor(frame, pointer);
      lastSource = frame;
      lastOut = frame;
      lastPointer = pointer;
      return frame;
    },
  };
}
