/** A square moving on a diagonal path of an X display: the benches' "user", and the demo desktops' sign of life. */
import type { DisplayPtr, Xlib } from '../../agent/platform/linux/x11/xlib.js';

export interface MovingSquare {
  width: number;
  height: number;
  box: number;
  /** Colour the square leaves behind (the desktop's). */
  background?: bigint;
  /** Moves per second come from this interval (default 16 ms, ~60 moves a second). */
  everyMs?: number;
}

/** Starts erase-and-draw moves from the X connection `dpy`; the returned timer stops them. */
export function startMovingSquare(l: Xlib, dpy: DisplayPtr, root: bigint | number, gc: unknown, o: MovingSquare): NodeJS.Timeout {
  const { width, height, box } = o;
  const at = (s: number) => [(s * 7) % (width - box), (s * 4) % (height - box)] as const;
  let step = 0;
  return setInterval(() => {
    const [ox, oy] = at(step);
    const [nx, ny] = at(++step);
    l.XSetForeground(dpy, gc, o.background ?? 0x3a6ea5n);
    l.XFillRectangle(dpy, root, gc, ox, oy, box, box);
    l.XSetForeground(dpy, gc, 0xffcc00n);
    l.XFillRectangle(dpy, root, gc, nx, ny, box, box);
    l.XFlush(dpy);
  }, o.everyMs ?? 16);
}
