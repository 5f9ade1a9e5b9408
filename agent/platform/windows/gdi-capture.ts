/**
 * The GDI grabber: BitBlt of the virtual screen (every monitor) into a top-down 32-bit DIB section.
 * Works everywhere a screen DC gives pixels (any Windows; Wine with an X display; not Wine without
 * one). The DIB is kept between grabs and rebuilt when the screen size changes; the screen DC is
 * taken per grab because it belongs to the thread's desktop, which changes on a desktop switch.
 * Runs on the calling thread: GetDC(NULL) means "the screen of this thread's desktop".
 */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { RawFrame } from '../port.js';
import { packRows } from './frame-copy.js';
import { badHandle, lastErrorText, nativeCopier, win32 } from './win32-api.js';

const SM_XVIRTUALSCREEN = 76;
const SM_YVIRTUALSCREEN = 77;
const SM_CXVIRTUALSCREEN = 78;
const SM_CYVIRTUALSCREEN = 79;
const SRCCOPY = 0x00cc0020;
const CAPTUREBLT = 0x40000000; // include layered windows
const DIB_RGB_COLORS = 0;

export interface ScreenRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The virtual screen (the union of all monitors) of this thread's desktop. */
export function virtualScreen(): ScreenRect {
  const w = win32();
  return {
    x: w.GetSystemMetrics(SM_XVIRTUALSCREEN) as number,
    y: w.GetSystemMetrics(SM_YVIRTUALSCREEN) as number,
    width: w.GetSystemMetrics(SM_CXVIRTUALSCREEN) as number,
    height: w.GetSystemMetrics(SM_CYVIRTUALSCREEN) as number,
  };
}

export interface GdiGrabber {
  /** The screen now; into `recycle`'s buffer (a frame the caller is done with) when its size fits. */
  grab(recycle?: RawFrame): Result<RawFrame>;
  close(): void;
}

/** A GDI grabber (allocates nothing until the first grab). */
export function createGdiGrabber(): GdiGrabber {
  const w = win32();
  let mem = 0n;
  let dib = 0n;
  let bits = 0n;
  let size = { width: 0, height: 0 };
  const free = () => {
    if (!badHandle(mem)) w.DeleteDC(mem);
    if (!badHandle(dib)) w.DeleteObject(dib);
    mem = 0n;
    dib = 0n;
    bits = 0n;
    size = { width: 0, height: 0 };
  };
  const prepare = (src: bigint, width: number, height: number): Result<void> => {
    if (size.width === width && size.height === height && !badHandle(dib)) return ok(undefined);
    free();
    mem = w.CreateCompatibleDC(src) as bigint;
    if (badHandle(mem)) return err(ErrorCode.NOT_AVAILABLE, lastErrorText('CreateCompatibleDC').text);
    // BITMAPINFOHEADER (40 bytes): biSize; biWidth; biHeight (negative: top-down); biPlanes 1; biBitCount 32; BI_RGB.
    const bmi = Buffer.alloc(44);
    bmi.writeUInt32LE(40, 0);
    bmi.writeInt32LE(width, 4);
    bmi.writeInt32LE(-height, 8);
    bmi.writeUInt16LE(1, 12);
    bmi.writeUInt16LE(32, 14);
    const out = Buffer.alloc(8);
    dib = w.CreateDIBSection(mem, bmi, DIB_RGB_COLORS, out, null, 0) as bigint;
    if (badHandle(dib)) {
      const e = lastErrorText('CreateDIBSection').text;
      free();
      return err(ErrorCode.NOT_AVAILABLE, e);
    }
    bits = out.readBigUInt64LE(0);
    w.SelectObject(mem, dib);
    size = { width, height };
    return ok(undefined);
  };
  return {
    grab(recycle) {
      const s = virtualScreen();
      if (s.width <= 0 || s.height <= 0) return err(ErrorCode.NOT_AVAILABLE, 'the desktop reports no screen size');
      const src = w.GetDC(null) as bigint;
      if (badHandle(src)) return err(ErrorCode.NOT_AVAILABLE, lastErrorText('GetDC').text);
      try {
        const ready = prepare(src, s.width, s.height);
        if (!ready.ok) return ready;
        const blt = w.BitBlt(mem, 0, 0, s.width, s.height, src, s.x, s.y, SRCCOPY | CAPTUREBLT);
        w.GdiFlush();
        if (!blt) return err(ErrorCode.NOT_AVAILABLE, `${lastErrorText('BitBlt').text}: the screen gives no pixels (no display attached?)`);
        // A copy: the DIB is overwritten by the next grab, and callers keep frames to diff against.
        // Its 32-bit rows are packed (DIB rows are DWORD-aligned, a pixel is one DWORD).
        return packRows(nativeCopier(bits), s.width * 4, s.width, s.height, recycle);
      } finally {
        w.ReleaseDC(null, src);
      }
    },
    close: free,
  };
}
