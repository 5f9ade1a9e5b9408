/**
 * Draws the remote mouse pointer into a grabbed frame. Screen grabs (X11 MIT-SHM, GDI BitBlt, DXGI
 * duplication) leave the pointer out, and a technician — above all a view-only one — must see where
 * the user points. Drawn before diffing, so a pointer that moves makes its tiles dirty like any pixel.
 */
import type { RawFrame } from '../platform/port.js';

/** A pointer image: premultiplied ARGB, row-major, with its hotspot at (x, y) on the screen. */
export interface CursorImage {
  x: number;
  y: number;
  xhot: number;
  yhot: number;
  width: number;
  height: number;
  argb: Uint32Array;
}

/** Where `cursor` lands on `frame`: its top-left corner, and the part inside the frame ([x0, x1) x [y0, y1)). */
export function cursorArea(frame: { width: number; height: number }, cursor: CursorImage) {
  const left = cursor.x - cursor.xhot;
  const top = cursor.y - cursor.yhot;
  return {
    left,
    top,
    x0: Math.max(0, left),
    y0: Math.max(0, top),
    x1: Math.min(frame.width, left + cursor.width),
    y1: Math.min(frame.height, top + cursor.height),
  };
}

/** Blends `cursor` over a BGRX `frame` in place (clipped at the frame's edges). */
export function drawCursor(frame: RawFrame, cursor: CursorImage): void {
  const { left, top, x0, y0, x1, y1 } = cursorArea(frame, cursor);
  const d = frame.data;
  for (let y = y0; y < y1; y++) {
    let o = y * frame.stride + x0 * 4;
    let s = (y - top) * cursor.width + (x0 - left);
    for (let x = x0; x < x1; x++, o += 4, s++) {
      const p = cursor.argb[s]!;
      const a = p >>> 24;
      if (a === 0) continue;
      // Premultiplied: out = src + dst * (1 - alpha).
      const k = 255 - a;
      d[o] = (p & 0xff) + (((d[o]! * k) / 255) | 0);
      d[o + 1] = ((p >>> 8) & 0xff) + (((d[o + 1]! * k) / 255) | 0);
      d[o + 2] = ((p >>> 16) & 0xff) + (((d[o + 2]! * k) / 255) | 0);
    }
  }
}
