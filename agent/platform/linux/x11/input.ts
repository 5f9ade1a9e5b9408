/**
 * Viewer input to XTest calls on one display connection: pointer motion, button transitions from
 * the `buttons` bitmask, wheel clicks, keysyms and typed text.
 */
import { err, ErrorCode, ok, type Result } from '../../../../proto/errors.js';
import type { KeyEvent, MouseEvent } from '../../port.js';
import type { DisplayPtr, Xlib } from './xlib.js';

/** `buttons` bit → X button number: bit 0 left = 1, bit 1 right = 3, bit 2 middle = 2. */
const BUTTONS: ReadonlyArray<readonly [bit: number, xButton: number]> = [
  [1, 1],
  [2, 3],
  [4, 2],
];
/** One wheel notch, as on Windows (WHEEL_DELTA); positive scrolls up (X button 4). */
const WHEEL_DELTA = 120;
const XK_Shift_L = 0xffe1;
const CONTROL_KEYSYMS: Record<string, number> = { '\n': 0xff0d, '\r': 0xff0d, '\t': 0xff09, '\b': 0xff08 };

/** X button presses (true) / releases (false) needed to go from `prev` to `next` button masks. */
function buttonTransitions(prev: number, next: number): Array<[xButton: number, press: boolean]> {
  const out: Array<[number, boolean]> = [];
  for (const [bit, xButton] of BUTTONS) {
    if ((prev & bit) !== (next & bit)) out.push([xButton, (next & bit) !== 0]);
  }
  return out;
}

/** The keysym X uses for a character (Latin-1 maps directly, the rest through 0x01000000 + code point). */
export function keysymOfChar(ch: string): number {
  const control = CONTROL_KEYSYMS[ch];
  if (control !== undefined) return control;
  const cp = ch.codePointAt(0) ?? 0;
  return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) ? cp : 0x01000000 + cp;
}

export interface InputSink {
  mouse(ev: MouseEvent): Result<void>;
  key(ev: KeyEvent): Result<void>;
}

/** Input for the display behind `dpy` (used only from the main thread). */
export function createInput(l: Xlib, dpy: DisplayPtr): InputSink {
  let buttons = 0;
  // Set XTest up on this connection now, while the server is alive: libXext's first-use setup on a
  // connection whose server just died frees a list node it keeps using (valgrind: use after free in
  // XextAddDisplay), and the next display opened in this process crashes the agent.
  l.XTestQueryExtension(dpy, [0], [0], [0], [0]);

  function tap(keycode: number, shift: boolean): void {
    const shiftCode = shift ? (l.XKeysymToKeycode(dpy, XK_Shift_L) as number) : 0;
    if (shiftCode) l.XTestFakeKeyEvent(dpy, shiftCode, 1, 0);
    l.XTestFakeKeyEvent(dpy, keycode, 1, 0);
    l.XTestFakeKeyEvent(dpy, keycode, 0, 0);
    if (shiftCode) l.XTestFakeKeyEvent(dpy, shiftCode, 0, 0);
  }

  function typeText(text: string): Result<void> {
    const missing: string[] = [];
    for (const ch of text) {
      const sym = keysymOfChar(ch);
      const kc = l.XKeysymToKeycode(dpy, sym) as number;
      if (!kc) {
        missing.push(ch);
        continue;
      }
      const plain = l.XkbKeycodeToKeysym(dpy, kc, 0, 0) as number | bigint;
      tap(kc, Number(plain) !== sym);
    }
    l.XFlush(dpy);
    // Characters outside the keyboard map would need a temporary remap of a spare keycode.
    if (missing.length) return err(ErrorCode.NOT_AVAILABLE, `no key on this keyboard map types: ${missing.join('')}`);
    return ok(undefined);
  }

  return {
    mouse(ev) {
      l.XTestFakeMotionEvent(dpy, -1, ev.x ?? 0, ev.y ?? 0, 0);
      const next = ev.buttons ?? 0;
      for (const [b, press] of buttonTransitions(buttons, next)) l.XTestFakeButtonEvent(dpy, b, press ? 1 : 0, 0);
      buttons = next;
      const wheel = ev.wheel ?? 0;
      if (wheel !== 0) {
        const clicks = Math.max(1, Math.round(Math.abs(wheel) / WHEEL_DELTA));
        const b = wheel > 0 ? 4 : 5;
        for (let i = 0; i < clicks; i++) {
          l.XTestFakeButtonEvent(dpy, b, 1, 0);
          l.XTestFakeButtonEvent(dpy, b, 0, 0);
        }
      }
      l.XFlush(dpy);
      return ok(undefined);
    },
    key(ev) {
      if (ev.text) return typeText(ev.text);
      const sym = ev.keyCode ?? 0;
      const kc = l.XKeysymToKeycode(dpy, sym) as number;
      if (!kc) return err(ErrorCode.VALIDATION_FAILED, `keysym 0x${sym.toString(16)} has no key on this display`);
      l.XTestFakeKeyEvent(dpy, kc, ev.down ? 1 : 0, 0);
      l.XFlush(dpy);
      return ok(undefined);
    },
  };
}
