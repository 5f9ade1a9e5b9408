/**
 * The X pointer as an image, through the XFIXES extension (libXfixes via koffi): MIT-SHM and
 * XGetImage never include it. Loaded apart from the rest of Xlib so a host without libXfixes still
 * captures, only without the pointer.
 */
import koffi from 'koffi';
import type { CursorImage } from '../../../frames/cursor-overlay.js';
import type { DisplayPtr, Xlib } from './xlib.js';

/** `XFixesCursorImage` on LP64: six 16-bit fields, then unsigned longs and pointers. */
const XFixesCursorImage = koffi.struct('GcXFixesCursorImage', {
  x: 'short',
  y: 'short',
  width: 'unsigned short',
  height: 'unsigned short',
  xhot: 'unsigned short',
  yhot: 'unsigned short',
  cursor_serial: 'unsigned long',
  pixels: 'void *',
  atom: 'unsigned long',
  name: 'void *',
});

interface RawCursor {
  x: number;
  y: number;
  width: number;
  height: number;
  xhot: number;
  yhot: number;
  cursor_serial: number | bigint;
  pixels: unknown;
}

function bind() {
  const xfixes = koffi.load('libXfixes.so.3');
  return {
    XFixesQueryExtension: xfixes.func('int XFixesQueryExtension(void *dpy, _Out_ int *eventBase, _Out_ int *errorBase)'),
    XFixesGetCursorImage: xfixes.func('void *XFixesGetCursorImage(void *dpy)'),
  };
}
let api: ReturnType<typeof bind> | null | undefined;

export interface CursorReader {
  /** The pointer now, or undefined when the display cannot say (no XFIXES). */
  read(): CursorImage | undefined;
}

/** A reader on `dpy` (a connection used from the main thread only); undefined without XFIXES. */
export function createCursorReader(l: Xlib, dpy: DisplayPtr): CursorReader | undefined {
  if (api === undefined) {
    try {
      api = bind();
    } catch {
      api = null;
    }
  }
  const a = api;
  if (!a) return undefined;
  if (!a.XFixesQueryExtension(dpy, [0], [0])) return undefined;
  // The image only changes with the cursor's shape: decode its pixels once per serial.
  let cached: { serial: string; argb: Uint32Array } | undefined;
  return {
    read() {
      const ptr = a.XFixesGetCursorImage(dpy) as bigint | null;
      if (!ptr) return undefined;
      try {
        const c = koffi.decode(ptr, XFixesCursorImage) as RawCursor;
        const n = c.width * c.height;
        if (n === 0 || !c.pixels) return undefined;
        const serial = String(c.cursor_serial);
        if (cached?.serial !== serial) {
          // One unsigned long (64-bit) per pixel holding 32-bit premultiplied ARGB in its low half.
          const words = new Uint32Array(koffi.view(c.pixels as never, n * 8).slice(0));
          const argb = new Uint32Array(n);
          for (let i = 0; i < n; i++) argb[i] = words[i * 2]!;
          cached = { serial, argb };
        }
        return { x: c.x, y: c.y, xhot: c.xhot, yhot: c.yhot, width: c.width, height: c.height, argb: cached.argb };
      } finally {
        l.XFree(ptr);
      }
    },
  };
}
