/**
 * The mouse pointer of the calling thread's desktop, as the image the frame overlay draws: neither
 * GDI BitBlt nor DXGI duplication puts it into the picture. GetCursorInfo says whether it shows and
 * which cursor it is, GetCursorPos where; each distinct cursor handle is turned into pixels once
 * (GetIconInfo + GetDIBits, decoded by cursor-decode.ts) and kept.
 *
 * The position comes from GetCursorPos rather than CURSORINFO.ptScreenPos: GetCursorPos is in the
 * same (possibly DPI-virtualised) coordinates as GetSystemMetrics and SendInput in this process,
 * which are the frame's, while ptScreenPos is reported to be in physical pixels.
 * A cursor whose bitmaps cannot be read (Wine keeps them per process, so another process's cursor
 * fails there) is drawn as the standard arrow: where the pointer is matters more than its shape.
 * Animated cursors show their first frame.
 */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { CursorImage } from '../../frames/cursor-overlay.js';
import { type CursorShape, shapeFromColor, shapeFromMonochrome } from './cursor-decode.js';
import { badHandle, lastErrorText, win32 } from './win32-api.js';

const CURSOR_SHOWING = 1;
const IDC_ARROW = 32512;
const DIB_RGB_COLORS = 0;
/** Windows allows cursors up to 256 px (accessibility sizes); anything far larger is not a cursor. */
const MAX_SIDE = 1024;
/** Distinct cursors seen in a session are few; the cache is dropped whole if that ever grows. */
const MAX_CACHED = 64;
/**
 * A handle's pixels are read again after this long: SetSystemCursor (a new pointer scheme or size in
 * the settings) changes what a system cursor's handle shows without changing the handle.
 */
const REFRESH_MS = 5000;

interface Bits {
  width: number;
  height: number;
  data: Buffer;
}

/** A bitmap's pixels as 32-bit top-down BGRA rows (a 1-bit mask comes out as 0x000000 / 0xFFFFFF). */
function bitmapBits(bitmap: bigint): Result<Bits> {
  const w = win32();
  // BITMAP (x64, 32 bytes): LONG bmType @0; LONG bmWidth @4; LONG bmHeight @8; LONG bmWidthBytes @12; WORD bmPlanes; WORD bmBitsPixel; LPVOID bmBits @24.
  const bm = Buffer.alloc(32);
  if ((w.GetObjectW(bitmap, bm.length, bm) as number) <= 0) return err(ErrorCode.NOT_AVAILABLE, lastErrorText('GetObjectW').text);
  const width = bm.readInt32LE(4);
  const height = bm.readInt32LE(8);
  if (width <= 0 || height <= 0 || width > MAX_SIDE || height > 2 * MAX_SIDE) return err(ErrorCode.NOT_AVAILABLE, `a cursor bitmap of ${width}x${height}`);
  // BITMAPINFOHEADER: biSize 40; biWidth; biHeight (negative: top-down); biPlanes 1; biBitCount 32; BI_RGB. Room for a colour table GetDIBits may write.
  const bmi = Buffer.alloc(40 + 256 * 4);
  bmi.writeUInt32LE(40, 0);
  bmi.writeInt32LE(width, 4);
  bmi.writeInt32LE(-height, 8);
  bmi.writeUInt16LE(1, 12);
  bmi.writeUInt16LE(32, 14);
  const data = Buffer.alloc(width * height * 4);
  const dc = w.GetDC(null) as bigint;
  if (badHandle(dc)) return err(ErrorCode.NOT_AVAILABLE, lastErrorText('GetDC').text);
  try {
    const lines = w.GetDIBits(dc, bitmap, 0, height, data, bmi, DIB_RGB_COLORS) as number;
    return lines === height ? ok({ width, height, data }) : err(ErrorCode.NOT_AVAILABLE, `GetDIBits gave ${lines} of ${height} rows (Win32 error ${w.GetLastError()})`);
  } finally {
    w.ReleaseDC(null, dc);
  }
}

/** The pixels of cursor (or icon) `cursor`, premultiplied ARGB with its hotspot. */
export function readCursorShape(cursor: bigint): Result<CursorShape> {
  const w = win32();
  // ICONINFO (x64, 32 bytes): BOOL fIcon @0; DWORD xHotspot @4; DWORD yHotspot @8; HBITMAP hbmMask @16; HBITMAP hbmColor @24.
  const ii = Buffer.alloc(32);
  if (!w.GetIconInfo(cursor, ii)) return err(ErrorCode.NOT_AVAILABLE, lastErrorText('GetIconInfo').text);
  const xhot = ii.readUInt32LE(4);
  const yhot = ii.readUInt32LE(8);
  const maskBitmap = ii.readBigUInt64LE(16);
  const colorBitmap = ii.readBigUInt64LE(24);
  try {
    // GetIconInfo hands out copies of both bitmaps: ours to delete.
    if (badHandle(maskBitmap)) return err(ErrorCode.NOT_AVAILABLE, 'the cursor has no mask bitmap');
    const mask = bitmapBits(maskBitmap);
    if (!mask.ok) return mask;
    const m = mask.value;
    if (badHandle(colorBitmap)) {
      if (m.height % 2 !== 0) return err(ErrorCode.NOT_AVAILABLE, `a monochrome cursor mask of odd height ${m.height}`);
      return ok(shapeFromMonochrome(m.data, m.width, m.height / 2, xhot, yhot));
    }
    const color = bitmapBits(colorBitmap);
    if (!color.ok) return color;
    const c = color.value;
    if (c.width !== m.width || c.height !== m.height) return err(ErrorCode.NOT_AVAILABLE, `cursor colour ${c.width}x${c.height} and mask ${m.width}x${m.height} differ`);
    return ok(shapeFromColor(c.data, m.data, c.width, c.height, xhot, yhot));
  } finally {
    if (!badHandle(maskBitmap)) w.DeleteObject(maskBitmap);
    if (!badHandle(colorBitmap)) w.DeleteObject(colorBitmap);
  }
}

interface PointerState {
  /** CURSORINFO.flags & CURSOR_SHOWING */
  showing: boolean;
  /** The cursor handle (0n: none, e.g. a program hid it with SetCursor(NULL)). */
  handle: bigint;
  x: number;
  y: number;
}

/** Whether and where the pointer shows on the calling thread's desktop, and which cursor it is. */
function pointerState(): Result<PointerState> {
  const w = win32();
  // CURSORINFO (x64, 24 bytes): DWORD cbSize @0; DWORD flags @4; HCURSOR hCursor @8; POINT ptScreenPos @16.
  const ci = Buffer.alloc(24);
  ci.writeUInt32LE(24, 0);
  if (!w.GetCursorInfo(ci)) return err(ErrorCode.NOT_AVAILABLE, lastErrorText('GetCursorInfo').text);
  const pt = Buffer.alloc(8);
  const fromPos = w.GetCursorPos(pt) as boolean;
  return ok({
    showing: (ci.readUInt32LE(4) & CURSOR_SHOWING) !== 0,
    handle: ci.readBigUInt64LE(8),
    x: fromPos ? pt.readInt32LE(0) : ci.readInt32LE(16),
    y: fromPos ? pt.readInt32LE(4) : ci.readInt32LE(20),
  });
}

export interface PointerReader {
  /**
   * The pointer now, with (x, y) relative to `origin` (the captured screen's top-left in screen
   * coordinates); undefined when it is hidden or cannot be read (why is said once through `log`).
   */
  read(origin: { x: number; y: number }): CursorImage | undefined;
  close(): void;
}

/** Reads the pointer of the calling thread's desktop; `log` hears each reason for degrading (the caller dedupes). */
export function createPointerReader(log: (msg: string) => void): PointerReader {
  const shapes = new Map<bigint, { shape: CursorShape | undefined; at: number }>();
  let arrow: CursorShape | undefined | null = null; // null: not loaded yet
  const standardArrow = (): CursorShape | undefined => {
    if (arrow !== null) return arrow;
    const h = win32().LoadCursorW(null, IDC_ARROW) as bigint; // shared system cursor: never destroyed
    const r = badHandle(h) ? err(ErrorCode.NOT_AVAILABLE, lastErrorText('LoadCursorW(IDC_ARROW)').text) : readCursorShape(h);
    if (!r.ok) log(`capture: the mouse pointer is left out: neither its shape nor the standard arrow can be read (${r.error.message})`);
    arrow = r.ok ? r.value : undefined;
    return arrow;
  };
  const shapeOf = (handle: bigint): CursorShape | undefined => {
    const cached = shapes.get(handle);
    const t = Date.now();
    if (cached && t - cached.at < REFRESH_MS) return cached.shape;
    const r = readCursorShape(handle);
    if (!r.ok) log(`capture: a pointer shape cannot be read (${r.error.message}); the standard arrow is drawn in its place`);
    let shape = r.ok ? r.value : standardArrow();
    // Unchanged pixels keep the old object: the compositor then sees "same pointer" and sends nothing.
    if (cached?.shape && shape && sameShape(cached.shape, shape)) shape = cached.shape;
    if (!cached && shapes.size >= MAX_CACHED) shapes.clear();
    shapes.set(handle, { shape, at: t });
    return shape;
  };
  return {
    read(origin) {
      const s = pointerState();
      if (!s.ok) {
        log(`capture: the mouse pointer is left out: ${s.error.message}`);
        return undefined;
      }
      const { showing, handle, x, y } = s.value;
      if (!showing || handle === 0n) return undefined;
      const shape = shapeOf(handle);
      return shape ? { ...shape, x: x - origin.x, y: y - origin.y } : undefined;
    },
    close() {
      shapes.clear();
    },
  };
}

function sameShape(a: CursorShape, b: CursorShape): boolean {
  if (a.width !== b.width || a.height !== b.height || a.xhot !== b.xhot || a.yhot !== b.yhot) return false;
  for (let i = 0; i < a.argb.length; i++) if (a.argb[i] !== b.argb[i]) return false;
  return true;
}
