/** A small square moving on a diagonal path of an X display, ~60 moves a second: the benches' "user". */
import type { DisplayPtr, Xlib } from '../../agent/platform/linux/x11/xlib.js';

/** Starts erase-and-draw moves from the X connection `dpy`; the returned timer stops them. */
export function startMovingSquare(l: Xlib, dpy: DisplayPtr, root: bigint | number, gc: unknown, size: { width: number; height: number; box: number }): NodeJS.Timeout {
  const { width, height, box } = size;
  const at = (s: number) => [(s * 7) % (width - box), (s * 4) % (height - box)] as const;
  let step = 0;
  return setInterval(() => {
    const [ox, oy] = at(step);
    const [nx, ny] = at(++step);
    l.XSetForeground(dpy, gc, 0x3a6ea5n);
    l.XFillRectangle(dpy, root, gc, ox, oy, box, box);
    l.XSetForeground(dpy, gc, 0xffcc00n);
    l.XFillRectangle(dpy, root, gc, nx, ny, box, box);
    l.XFlush(dpy);
  }, 16);
}
