/**
 * Session changes pushed by Windows: a message-only window registered with
 * WTSRegisterSessionNotification(NOTIFY_FOR_ALL_SESSIONS) receives WM_WTSSESSION_CHANGE on logon,
 * logoff, lock, unlock, connect and disconnect. Window messages go to the thread that created the
 * window, so the window lives on the Node main thread and its queue is pumped there by a short,
 * non-blocking PeekMessageW loop on a timer (a blocking GetMessageW on a worker thread would never
 * see them). When anything fails the watcher is inert and the agent's poll covers for it.
 */
import { type WndProc, addressOf, badHandle, registerWndProc, unregisterCallback, win32 } from './win32-api.js';
import { wide } from './utf16.js';

export const WM_WTSSESSION_CHANGE = 0x02b1;
const NOTIFY_FOR_ALL_SESSIONS = 1;
/** (HWND)-3: the parent that makes a window message-only (no desktop, no broadcasts). */
export const HWND_MESSAGE = 0xfffffffffffffffdn;
/** Window class names of the watchers start with this (each watcher has its own class). */
export const WATCH_CLASS_PREFIX = 'GuruConnectSessionWatch.';
const PM_REMOVE = 1;
// Remote Desktop Services not started yet (early at boot): Microsoft's advice is to retry.
const RPC_S_INVALID_BINDING = 1702;

/** The wParam of WM_WTSSESSION_CHANGE. */
export const SessionChangeReason = {
  ConsoleConnect: 1,
  ConsoleDisconnect: 2,
  RemoteConnect: 3,
  RemoteDisconnect: 4,
  Logon: 5,
  Logoff: 6,
  Lock: 7,
  Unlock: 8,
  RemoteControl: 9,
  Create: 10,
  Terminate: 11,
} as const;

export interface SessionChange {
  /** A `SessionChangeReason` value (others are passed through as they come). */
  reason: number;
  sessionId: number;
}

/** The change a window message announces, or undefined for any other message. */
export function sessionChangeOf(msg: number, wParam: number | bigint, lParam: number | bigint): SessionChange | undefined {
  if (msg !== WM_WTSSESSION_CHANGE) return undefined;
  return { reason: Number(wParam), sessionId: Number(BigInt.asUintN(32, BigInt(lParam))) };
}

/** WNDCLASSEXW on x64 (80 bytes): cbSize, style, lpfnWndProc @8, hInstance @24, lpszClassName @64. */
export const WNDCLASSEXW_SIZE = 80;

/** A WNDCLASSEXW with only what a message-only window needs: the procedure, module and class name. */
export function buildWndClass(wndProc: bigint, instance: bigint, className: bigint): Buffer {
  const b = Buffer.alloc(WNDCLASSEXW_SIZE);
  b.writeUInt32LE(WNDCLASSEXW_SIZE, 0);
  b.writeBigUInt64LE(wndProc, 8);
  b.writeBigUInt64LE(instance, 24);
  b.writeBigUInt64LE(className, 64);
  return b;
}

/** MSG on x64: hwnd, message @8, wParam @16, lParam @24, time @32, pt @36, lPrivate @44. */
const MSG_SIZE = 48;

export interface SessionNotifications {
  /** The message-only window (0n when none could be made). */
  readonly hwnd: bigint;
  /** WTSRegisterSessionNotification succeeded for `hwnd`. */
  readonly registered: boolean;
  /** Why pushed changes are unavailable ('' when they work). */
  readonly failure: string;
  /** Unregisters, destroys the window, stops the pump and frees the callback. Idempotent. */
  unsubscribe(): void;
}

export interface SessionNotificationOptions {
  /** How often the main thread's message queue is drained. */
  pumpMs?: number;
  /** Changes closer together than this are reported once (logon brings several in a burst). */
  debounceMs?: number;
  /** Delay between registration attempts while Remote Desktop Services is not up yet. */
  retryMs?: number;
  log?: (msg: string) => void;
}

let serial = 0;

/** Calls `onChange` (debounced, with the latest change) whenever Windows reports a session change. */
export function watchSessionNotifications(onChange: (change: SessionChange) => void, opts: SessionNotificationOptions = {}): SessionNotifications {
  const { pumpMs = 150, debounceMs = 100, retryMs = 5000, log = () => {} } = opts;
  const w = win32();
  let debounce: NodeJS.Timeout | undefined;
  let latest: SessionChange | undefined;
  const deliver = (change: SessionChange) => {
    latest = change;
    debounce ??= setTimeout(() => {
      debounce = undefined;
      const c = latest;
      latest = undefined;
      if (c) onChange(c);
    }, debounceMs);
  };
  // Exceptions must not cross into user32: a throwing WNDPROC would make koffi answer 0, which
  // fails WM_NCCREATE and with it CreateWindowExW.
  const proc: WndProc = (hwnd, msg, wParam, lParam) => {
    try {
      const change = sessionChangeOf(msg, wParam, lParam);
      if (change) {
        deliver(change);
        return 0;
      }
    } catch {}
    return w.DefWindowProcW(hwnd, msg, wParam, lParam);
  };

  const state = { hwnd: 0n, registered: false, failure: '' };
  const inert = (why: string): SessionNotifications => {
    log(`session notifications unavailable, polling instead: ${why}`);
    return { hwnd: 0n, registered: false, failure: why, unsubscribe() {} };
  };

  let procAddr: bigint;
  try {
    procAddr = registerWndProc(proc);
  } catch (e) {
    return inert(`no callback slot (${(e as Error).message})`);
  }
  const instance = (w.GetModuleHandleW(null) as bigint | null) ?? 0n;
  const className = wide(`${WATCH_CLASS_PREFIX}${process.pid}.${++serial}`);
  if (!w.RegisterClassExW(buildWndClass(procAddr, instance, addressOf(className)))) {
    const code = w.GetLastError() as number;
    unregisterCallback(procAddr);
    return inert(`RegisterClassExW failed (Win32 error ${code})`);
  }
  const hwnd = w.CreateWindowExW(0, className, null, 0, 0, 0, 0, 0, HWND_MESSAGE, null, instance, null) as bigint | null;
  if (badHandle(hwnd) || hwnd === null) {
    const code = w.GetLastError() as number;
    w.UnregisterClassW(className, instance);
    unregisterCallback(procAddr);
    return inert(`CreateWindowExW(HWND_MESSAGE) failed (Win32 error ${code})`);
  }
  state.hwnd = hwnd;

  let nextAttempt = 0;
  const register = (): boolean => {
    if (w.WTSRegisterSessionNotification(hwnd, NOTIFY_FOR_ALL_SESSIONS)) {
      state.registered = true;
      state.failure = '';
      return true;
    }
    const code = w.GetLastError() as number;
    state.failure = `WTSRegisterSessionNotification failed (Win32 error ${code})`;
    nextAttempt = code === RPC_S_INVALID_BINDING ? Date.now() + retryMs : Number.POSITIVE_INFINITY;
    return false;
  };
  // DestroyWindow calls the WNDPROC (WM_DESTROY, WM_NCDESTROY): free the callback only after it.
  const teardown = () => {
    w.DestroyWindow(hwnd);
    w.UnregisterClassW(className, instance);
    unregisterCallback(procAddr);
  };
  if (!register()) {
    if (nextAttempt === Number.POSITIVE_INFINITY) {
      teardown();
      return inert(state.failure);
    }
    log(`session notifications not registered yet, polling meanwhile: ${state.failure}`);
  }

  const msg = Buffer.alloc(MSG_SIZE);
  let closed = false;
  const pump = () => {
    if (!state.registered && Date.now() >= nextAttempt) {
      if (register()) log('session notifications registered');
      else if (nextAttempt === Number.POSITIVE_INFINITY) {
        log(`session notifications unavailable, polling instead: ${state.failure}`);
        handle.unsubscribe();
        return;
      }
    }
    // Bounded so a flood of messages cannot hold the event loop; the rest wait for the next tick.
    for (let i = 0; i < 256 && w.PeekMessageW(msg, null, 0, 0, PM_REMOVE); i++) {
      w.TranslateMessage(msg);
      w.DispatchMessageW(msg);
    }
  };
  const timer = setInterval(pump, pumpMs);
  timer.unref();

  const handle: SessionNotifications = {
    get hwnd() {
      return state.hwnd;
    },
    get registered() {
      return state.registered;
    },
    get failure() {
      return state.failure;
    },
    unsubscribe() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      if (state.registered) w.WTSUnRegisterSessionNotification(hwnd);
      state.registered = false;
      teardown();
    },
  };
  return handle;
}
