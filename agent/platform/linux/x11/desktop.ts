/**
 * One Linux session's X desktop as a `SessionDesktop`: capture through MIT-SHM (grabber.ts) on one
 * connection and XTest input plus clipboard on a second one, so a grab running on a worker thread
 * never holds the lock the input path needs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { err, ErrorCode, ok, type Result } from '../../../../proto/errors.js';
import { drawCursor } from '../../../frames/cursor-overlay.js';
import type { SessionDesktop } from '../../port.js';
import { createCursorReader } from './cursor.js';
import { createGrabber, rootWindowSize } from './grabber.js';
import { createInput } from './input.js';
import { type DisplayPtr, forgetDisplay, isDead, surviveIoErrors, xlib, type Xlib } from './xlib.js';

export interface X11Session {
  sessionId: number;
  /** DISPLAY value, e.g. ":0". */
  display: string;
  uid: number;
  user: string;
}

/** A SessionDesktop that also tells whether grabs go through MIT-SHM (else XGetImage). */
export interface X11Desktop extends SessionDesktop {
  readonly usesShm: boolean;
}

const XA_PRIMARY = 1n;

function homeOf(user: string): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === user) return f[5];
    }
  } catch {
    // no passwd file: fall back to no cookie
  }
  return undefined;
}

/** Opens `display`, with the owner's ~/.Xauthority cookie when there is one. */
function connect(l: Xlib, session: X11Session): DisplayPtr | undefined {
  const home = homeOf(session.user);
  const cookie = home ? `${home}/.Xauthority` : undefined;
  const saved = process.env.XAUTHORITY;
  // Xlib reads XAUTHORITY during XOpenDisplay only; put it back so other sessions see their own.
  if (cookie && existsSync(cookie)) process.env.XAUTHORITY = cookie;
  try {
    const dpy = l.XOpenDisplay(session.display) as bigint | null;
    if (!dpy) return undefined;
    surviveIoErrors(l, dpy);
    return dpy;
  } finally {
    if (saved === undefined) delete process.env.XAUTHORITY;
    else process.env.XAUTHORITY = saved;
  }
}

/** Opens capture and input on an X session's display (SESSION_NOT_CAPTURABLE when it cannot). */
export async function openX11Desktop(session: X11Session, opts: { shm?: boolean; asyncGrab?: boolean } = {}): Promise<Result<X11Desktop>> {
  const loaded = xlib();
  if (!loaded.ok) return err(ErrorCode.NOT_AVAILABLE, loaded.reason);
  const l = loaded.lib;
  const inputDpy = connect(l, session);
  if (!inputDpy) return err(ErrorCode.SESSION_NOT_CAPTURABLE, `cannot open X display ${session.display} of ${session.user}`);
  const grabDpy = connect(l, session);
  if (!grabDpy) {
    l.XCloseDisplay(inputDpy);
    forgetDisplay(inputDpy);
    return err(ErrorCode.SESSION_NOT_CAPTURABLE, `cannot open a second connection to X display ${session.display}`);
  }
  // The pointer and the root's size are read on the input connection (main thread) while the grab
  // connection reads the image on a worker thread: neither round trip waits in line before the image.
  const grabber = createGrabber(l, grabDpy, session.uid, {
    shm: opts.shm,
    async: opts.asyncGrab,
    rootSize: () => (closed || isDead(inputDpy) ? undefined : rootWindowSize(l, inputDpy)),
  });
  const input = createInput(l, inputDpy);
  const pointer = createCursorReader(l, inputDpy);
  const clipboard = l.XInternAtom(inputDpy, 'CLIPBOARD', 0) as bigint;
  let closed = false;
  const gone = (): Result<never> => err(ErrorCode.SESSION_NOT_CAPTURABLE, `X display ${session.display} is closed or gone`);

  return ok({
    sessionId: session.sessionId,
    get usesShm() {
      return grabber.usesShm;
    },
    async grab(recycle) {
      let c: ReturnType<NonNullable<typeof pointer>['read']>;
      const r = await grabber.grab(recycle, () => {
        c = !closed && !isDead(inputDpy) ? pointer?.read() : undefined;
      });
      if (r.ok && c) drawCursor(r.value, c);
      return r;
    },
    mouse: (ev) => (closed || isDead(inputDpy) ? gone() : input.mouse(ev)),
    key: (ev) => (closed || isDead(inputDpy) ? gone() : input.key(ev)),
    clearClipboard() {
      if (closed || isDead(inputDpy)) return gone();
      l.XSetSelectionOwner(inputDpy, clipboard, 0n, 0n);
      l.XSetSelectionOwner(inputDpy, XA_PRIMARY, 0n, 0n);
      l.XFlush(inputDpy);
      return ok(undefined);
    },
    close() {
      if (closed) return;
      closed = true;
      grabber.close();
      if (!isDead(inputDpy)) l.XCloseDisplay(inputDpy);
      forgetDisplay(inputDpy);
    },
  });
}
