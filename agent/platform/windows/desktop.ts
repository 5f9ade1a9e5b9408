/**
 * Capture and input on the desktop this process can reach: GDI BitBlt of the screen into a DIB
 * section, SendInput for mouse and keyboard. A service runs in Session 0 and cannot see a user's
 * desktop: capturing another session needs a helper process started in that session by the SYSTEM
 * service (CreateProcessAsUserW with that session's token), which is not built yet. DXGI desktop
 * duplication (faster, GPU-side) is future work; GDI works everywhere, including under Wine.
 */
import { type Result, err, ok } from '../../../proto/errors.js';
import type { KeyEvent, MouseEvent, RawFrame, SessionDesktop } from '../port.js';
import { readWideIn } from './utf16.js';
import { badHandle, copyNative, lastErrorText, win32 } from './win32-api.js';

const SM_XVIRTUALSCREEN = 76;
const SM_YVIRTUALSCREEN = 77;
const SM_CXVIRTUALSCREEN = 78;
const SM_CYVIRTUALSCREEN = 79;
const SRCCOPY = 0x00cc0020;
const CAPTUREBLT = 0x40000000;
const DIB_RGB_COLORS = 0;
const DESKTOP_ALL_INPUT = 0x0001 | 0x0002 | 0x0004 | 0x0040 | 0x0080 | 0x0100; // read objects, create, hook, enumerate, write objects, switch
const UOI_NAME = 2;
const INPUT_MOUSE = 0;
const INPUT_KEYBOARD = 1;
/** INPUT on x64: DWORD type; pad; union (MOUSEINPUT is the largest, 32 bytes) @8 -> 40 bytes. */
const INPUT_SIZE = 40;
const MOUSEEVENTF_MOVE = 0x1;
const MOUSEEVENTF_LEFTDOWN = 0x2;
const MOUSEEVENTF_LEFTUP = 0x4;
const MOUSEEVENTF_RIGHTDOWN = 0x8;
const MOUSEEVENTF_RIGHTUP = 0x10;
const MOUSEEVENTF_MIDDLEDOWN = 0x20;
const MOUSEEVENTF_MIDDLEUP = 0x40;
const MOUSEEVENTF_WHEEL = 0x800;
const MOUSEEVENTF_VIRTUALDESK = 0x4000;
const MOUSEEVENTF_ABSOLUTE = 0x8000;
const KEYEVENTF_KEYUP = 0x2;
const KEYEVENTF_UNICODE = 0x4;

/** Name of the input desktop ("Default", "Winlogon" at the lock screen), '' when it cannot be opened. */
export function inputDesktopName(): string {
  const w = win32();
  const desk = w.OpenInputDesktop(0, false, DESKTOP_ALL_INPUT) as bigint;
  if (badHandle(desk)) return '';
  try {
    const buf = Buffer.alloc(256);
    const needed = Buffer.alloc(4);
    return w.GetUserObjectInformationW(desk, UOI_NAME, buf, buf.length, needed) ? readWideIn(buf, 0, 128) : '';
  } finally {
    w.CloseDesktop(desk);
  }
}

/** MOUSEINPUT @8: LONG dx; LONG dy; DWORD mouseData; DWORD dwFlags; DWORD time; pad; ULONG_PTR extra. */
function mouseInput(dx: number, dy: number, data: number, flags: number): Buffer {
  const b = Buffer.alloc(INPUT_SIZE);
  b.writeUInt32LE(INPUT_MOUSE, 0);
  b.writeInt32LE(dx, 8);
  b.writeInt32LE(dy, 12);
  b.writeInt32LE(data, 16);
  b.writeUInt32LE(flags, 20);
  return b;
}

/** KEYBDINPUT @8: WORD wVk; WORD wScan; DWORD dwFlags; DWORD time; pad; ULONG_PTR extra. */
function keyInput(vk: number, scan: number, flags: number): Buffer {
  const b = Buffer.alloc(INPUT_SIZE);
  b.writeUInt32LE(INPUT_KEYBOARD, 0);
  b.writeUInt16LE(vk, 8);
  b.writeUInt16LE(scan, 10);
  b.writeUInt32LE(flags, 12);
  return b;
}

function send(inputs: Buffer[]): Result<void> {
  if (inputs.length === 0) return ok(undefined);
  const sent = win32().SendInput(inputs.length, Buffer.concat(inputs), INPUT_SIZE) as number;
  return sent === inputs.length ? ok(undefined) : err('NOT_AVAILABLE', lastErrorText('SendInput').text);
}

/** Opens the desktop of the session this process runs in (the only one reachable without a helper). */
export function openOwnDesktop(sessionId: number): Result<SessionDesktop> {
  const w = win32();
  const desk = w.OpenInputDesktop(0, false, DESKTOP_ALL_INPUT) as bigint;
  if (badHandle(desk)) return err('NOT_AVAILABLE', `${lastErrorText('OpenInputDesktop').text}: no input desktop to capture`);
  // Follow the input desktop (e.g. to Winlogon at the lock screen); fails harmlessly if the thread owns windows.
  w.SetThreadDesktop(desk);
  let buttons = 0;
  const screen = () => ({
    x: w.GetSystemMetrics(SM_XVIRTUALSCREEN) as number,
    y: w.GetSystemMetrics(SM_YVIRTUALSCREEN) as number,
    width: w.GetSystemMetrics(SM_CXVIRTUALSCREEN) as number,
    height: w.GetSystemMetrics(SM_CYVIRTUALSCREEN) as number,
  });
  return ok({
    sessionId,
    async grab(): Promise<Result<RawFrame>> {
      const s = screen();
      if (s.width <= 0 || s.height <= 0) return err('NOT_AVAILABLE', 'the desktop reports no screen size');
      const src = w.GetDC(null) as bigint;
      if (badHandle(src)) return err('NOT_AVAILABLE', lastErrorText('GetDC').text);
      const mem = w.CreateCompatibleDC(src) as bigint;
      // BITMAPINFOHEADER (40 bytes): biSize; biWidth; biHeight (negative: top-down); biPlanes 1; biBitCount 32; BI_RGB.
      const bmi = Buffer.alloc(44);
      bmi.writeUInt32LE(40, 0);
      bmi.writeInt32LE(s.width, 4);
      bmi.writeInt32LE(-s.height, 8);
      bmi.writeUInt16LE(1, 12);
      bmi.writeUInt16LE(32, 14);
      const bits = Buffer.alloc(8);
      const dib = badHandle(mem) ? 0n : (w.CreateDIBSection(mem, bmi, DIB_RGB_COLORS, bits, null, 0) as bigint);
      try {
        if (badHandle(dib)) return err('NOT_AVAILABLE', lastErrorText('CreateDIBSection').text);
        const old = w.SelectObject(mem, dib);
        const blt = w.BitBlt(mem, 0, 0, s.width, s.height, src, s.x, s.y, SRCCOPY | CAPTUREBLT);
        w.GdiFlush();
        w.SelectObject(mem, old);
        if (!blt) return err('NOT_AVAILABLE', lastErrorText('BitBlt').text);
        const stride = s.width * 4;
        return ok({ width: s.width, height: s.height, stride, data: copyNative(bits.readBigUInt64LE(0), stride * s.height) });
      } finally {
        if (!badHandle(dib)) w.DeleteObject(dib);
        if (!badHandle(mem)) w.DeleteDC(mem);
        w.ReleaseDC(null, src);
      }
    },
    mouse(ev: MouseEvent): Result<void> {
      const s = screen();
      if (s.width <= 1 || s.height <= 1) return err('NOT_AVAILABLE', 'the desktop reports no screen size');
      // Absolute coordinates are normalised to 0..65535 over the virtual desktop.
      const nx = Math.round((((ev.x ?? 0) - s.x) * 65535) / (s.width - 1));
      const ny = Math.round((((ev.y ?? 0) - s.y) * 65535) / (s.height - 1));
      const inputs = [mouseInput(nx, ny, 0, MOUSEEVENTF_MOVE | MOUSEEVENTF_ABSOLUTE | MOUSEEVENTF_VIRTUALDESK)];
      const next = ev.buttons ?? 0;
      const edges: [number, number, number][] = [
        [1, MOUSEEVENTF_LEFTDOWN, MOUSEEVENTF_LEFTUP],
        [2, MOUSEEVENTF_RIGHTDOWN, MOUSEEVENTF_RIGHTUP],
        [4, MOUSEEVENTF_MIDDLEDOWN, MOUSEEVENTF_MIDDLEUP],
      ];
      for (const [bit, down, up] of edges) {
        if ((next & bit) !== (buttons & bit)) inputs.push(mouseInput(0, 0, 0, next & bit ? down : up));
      }
      if (ev.wheel) inputs.push(mouseInput(0, 0, ev.wheel * 120, MOUSEEVENTF_WHEEL));
      buttons = next;
      return send(inputs);
    },
    key(ev: KeyEvent): Result<void> {
      if (ev.text) {
        const inputs: Buffer[] = [];
        // JS strings are UTF-16 already: one KEYEVENTF_UNICODE press per code unit (surrogates included).
        for (let i = 0; i < ev.text.length; i++) {
          const unit = ev.text.charCodeAt(i);
          inputs.push(keyInput(0, unit, KEYEVENTF_UNICODE), keyInput(0, unit, KEYEVENTF_UNICODE | KEYEVENTF_KEYUP));
        }
        return send(inputs);
      }
      return send([keyInput(ev.keyCode ?? 0, 0, ev.down ? 0 : KEYEVENTF_KEYUP)]);
    },
    clearClipboard(): Result<void> {
      if (!w.OpenClipboard(null)) return err('NOT_AVAILABLE', lastErrorText('OpenClipboard').text);
      try {
        return w.EmptyClipboard() ? ok(undefined) : err('NOT_AVAILABLE', lastErrorText('EmptyClipboard').text);
      } finally {
        w.CloseClipboard();
      }
    },
    close() {
      w.CloseDesktop(desk);
    },
  });
}
