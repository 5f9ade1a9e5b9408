/**
 * Capture and input on the desktop this process can reach: the input desktop of its own session
 * (followed as it changes: Default, Winlogon at the lock screen, the UAC secure desktop), captured by
 * DXGI desktop duplication with GDI as the fallback (dxgi-with-gdi-fallback.ts), input by SendInput.
 * The agent uses it directly for its own session; the session helper (session-helper/) uses it inside
 * every other session, where the agent as a Session 0 service cannot reach.
 */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { KeyEvent, MouseEvent, RawFrame, SessionDesktop } from '../port.js';
import { createScreenCapture, type ScreenCapture } from './dxgi-with-gdi-fallback.js';
import { virtualScreen } from './gdi-capture.js';
import { readWideIn } from './utf16.js';
import { badHandle, lastErrorText, win32 } from './win32-api.js';

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

function desktopName(desk: bigint): string {
  const buf = Buffer.alloc(256);
  const needed = Buffer.alloc(4);
  return win32().GetUserObjectInformationW(desk, UOI_NAME, buf, buf.length, needed) ? readWideIn(buf, 0, 128) : '';
}

export interface DesktopFollower {
  /** The desktop the calling thread is on now. */
  readonly name: string;
  /** Moves the thread to the input desktop if it changed; true when it moved. */
  follow(): boolean;
  close(): void;
}

/**
 * Puts the calling thread on the input desktop and keeps it there. SetThreadDesktop fails when the
 * thread owns windows (the agent's session-notification window): the thread then stays where it is.
 */
function followInputDesktop(): Result<DesktopFollower> {
  const w = win32();
  let desk = w.OpenInputDesktop(0, false, DESKTOP_ALL_INPUT) as bigint;
  if (badHandle(desk)) return err(ErrorCode.NOT_AVAILABLE, `${lastErrorText('OpenInputDesktop').text}: no input desktop to capture`);
  w.SetThreadDesktop(desk);
  let name = desktopName(desk);
  return ok({
    get name() {
      return name;
    },
    follow() {
      if (badHandle(desk)) return false;
      const next = w.OpenInputDesktop(0, false, DESKTOP_ALL_INPUT) as bigint;
      if (badHandle(next)) return false; // e.g. the secure desktop without SYSTEM rights: stay
      const nextName = desktopName(next);
      if (nextName === name || !w.SetThreadDesktop(next)) {
        w.CloseDesktop(next);
        return false;
      }
      w.CloseDesktop(desk);
      desk = next;
      name = nextName;
      return true;
    },
    close() {
      if (!badHandle(desk)) w.CloseDesktop(desk);
      desk = 0n;
    },
  });
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
  return sent === inputs.length ? ok(undefined) : err(ErrorCode.NOT_AVAILABLE, lastErrorText('SendInput').text);
}

export interface InputInjector {
  mouse(ev: MouseEvent): Result<void>;
  key(ev: KeyEvent): Result<void>;
  clearClipboard(): Result<void>;
}

/** SendInput and the clipboard on the calling thread's desktop; remembers buttons to send edges only. */
export function createInputInjector(): InputInjector {
  const w = win32();
  let buttons = 0;
  return {
    mouse(ev) {
      const s = virtualScreen();
      if (s.width <= 1 || s.height <= 1) return err(ErrorCode.NOT_AVAILABLE, 'the desktop reports no screen size');
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
    key(ev) {
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
    clearClipboard() {
      if (!w.OpenClipboard(null)) return err(ErrorCode.NOT_AVAILABLE, lastErrorText('OpenClipboard').text);
      try {
        return w.EmptyClipboard() ? ok(undefined) : err(ErrorCode.NOT_AVAILABLE, lastErrorText('EmptyClipboard').text);
      } finally {
        w.CloseClipboard();
      }
    },
  };
}

export interface FollowedCapture {
  readonly follower: DesktopFollower;
  readonly capture: ScreenCapture;
  /** Follows the input desktop (rebuilding the capturer when it moved), then grabs (into `recycle` when it fits). */
  grab(recycle?: RawFrame): ReturnType<ScreenCapture['grab']>;
  close(): void;
}

/** The input desktop of this process's session, followed across switches, with its capturer. */
export function openFollowedCapture(log: (msg: string) => void, opts: { dxgi?: boolean } = {}): Result<FollowedCapture> {
  const follower = followInputDesktop();
  if (!follower.ok) return follower;
  const f = follower.value;
  const capture = createScreenCapture({ log, dxgi: opts.dxgi });
  return ok({
    follower: f,
    capture,
    grab(recycle) {
      if (f.follow()) {
        log(`capture: the input desktop is now ${f.name}; capture starts over on it`);
        capture.reset();
      }
      return capture.grab(recycle);
    },
    close() {
      capture.close();
      f.close();
    },
  });
}

/** Opens the desktop of the session this process runs in (reachable without a helper). */
export function openOwnDesktop(sessionId: number, log: (msg: string) => void = () => {}): Result<SessionDesktop> {
  const opened = openFollowedCapture(log);
  if (!opened.ok) return opened;
  const c = opened.value;
  c.capture.prepare();
  const input = createInputInjector();
  let closed = false;
  return ok({
    sessionId,
    async grab(recycle): Promise<Result<RawFrame>> {
      if (closed) return err(ErrorCode.NOT_AVAILABLE, 'the desktop is closed');
      const g = await c.grab(recycle);
      return g.ok ? ok(g.value.frame) : g;
    },
    mouse: (ev) => input.mouse(ev),
    key: (ev) => input.key(ev),
    clearClipboard: () => input.clearClipboard(),
    close() {
      if (closed) return;
      closed = true;
      c.close();
    },
  });
}
