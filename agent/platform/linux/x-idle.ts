/**
 * Input idle time of an X display through the MIT-SCREEN-SAVER extension (libXss), via koffi.
 * Calls run on koffi's worker threads (`.async`) so a slow X server cannot stall the agent's loop;
 * queries are serialised because XAUTHORITY is process-wide.
 */
import { existsSync } from 'node:fs';
import koffi, { type LibraryHandle } from 'koffi';

type KoffiFunction = ReturnType<LibraryHandle['func']>;

interface XssLib {
  open: KoffiFunction;
  close: KoffiFunction;
  root: KoffiFunction;
  hasExt: KoffiFunction;
  query: KoffiFunction;
}

let lib: XssLib | null | undefined;

function load(): XssLib | null {
  if (lib !== undefined) return lib;
  try {
    const x11 = koffi.load('libX11.so.6');
    const xss = koffi.load('libXss.so.1');
    const Display = koffi.opaque('GcIdleDisplay');
    const Info = koffi.struct('GcXScreenSaverInfo', {
      window: 'unsigned long',
      state: 'int',
      kind: 'int',
      til_or_since: 'unsigned long',
      idle: 'unsigned long',
      eventMask: 'unsigned long',
    });
    lib = {
      open: x11.func('XOpenDisplay', koffi.pointer(Display), ['str']),
      close: x11.func('XCloseDisplay', 'int', [koffi.pointer(Display)]),
      root: x11.func('XDefaultRootWindow', 'unsigned long', [koffi.pointer(Display)]),
      hasExt: xss.func('XScreenSaverQueryExtension', 'int', [koffi.pointer(Display), koffi.out(koffi.pointer('int')), koffi.out(koffi.pointer('int'))]),
      query: xss.func('XScreenSaverQueryInfo', 'int', [koffi.pointer(Display), 'unsigned long', koffi.out(koffi.pointer(Info))]),
    };
  } catch {
    // No libX11/libXss: idle time is simply unknown (0), sessions are still listed.
    lib = null;
  }
  return lib;
}

function callAsync<T>(fn: KoffiFunction, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (e: unknown, r: T) => (e ? reject(e) : resolve(r)));
  });
}

async function openDisplay(l: XssLib, display: string, xauthority: string | undefined): Promise<unknown> {
  let d = await callAsync<unknown>(l.open, display);
  if (d || !xauthority || !existsSync(xauthority)) return d;
  // The display wants a cookie: borrow its owner's for this one connection.
  const saved = process.env.XAUTHORITY;
  process.env.XAUTHORITY = xauthority;
  try {
    d = await callAsync<unknown>(l.open, display);
  } finally {
    if (saved === undefined) delete process.env.XAUTHORITY;
    else process.env.XAUTHORITY = saved;
  }
  return d;
}

let chain: Promise<unknown> = Promise.resolve();

/** Seconds since the last input on `display` (":<n>"); 0 when it cannot be known. */
export function xIdleSecs(display: string, xauthority?: string): Promise<number> {
  const run = async (): Promise<number> => {
    const l = load();
    if (!l) return 0;
    const d = await openDisplay(l, display, xauthority);
    if (!d) return 0;
    try {
      const ev = [0];
      const er = [0];
      if (!(await callAsync<number>(l.hasExt, d, ev, er))) return 0;
      const root = await callAsync<number>(l.root, d);
      const info: { idle?: number } = {};
      if (!(await callAsync<number>(l.query, d, root, info))) return 0;
      return Math.floor((info.idle ?? 0) / 1000);
    } finally {
      await callAsync<number>(l.close, d);
    }
  };
  const next = chain.then(run, run).catch(() => 0);
  chain = next;
  return next;
}
