/**
 * The agent's side of a session helper: a SessionDesktop whose grabs and input travel over the
 * helper's pipes. Grabs are request/response (a frame carries only what changed; the whole frame is
 * rebuilt here); input is written and not answered (the helper reports a failing kind once).
 *
 * Reading: while a reply is awaited, blocking ReadFile runs on a koffi worker thread (no polling
 * delay: Windows timers tick at 15.6 ms); nothing is read between grabs, so no worker thread is held
 * while the viewer is idle. A helper that does not answer in time is killed, which breaks the pipe
 * and ends the read. A helper that died is started again on the next grab (at most every 2 s).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode, type GcError, type Result, err, ok } from '../../../proto/errors.js';
import type { KeyEvent, MouseEvent, RawFrame, SessionDesktop } from '../port.js';
import { applyRects } from './helper-frame-delta.js';
import { defaultHelperArgs } from './helper-command-line.js';
import { type LaunchedHelper, launchSessionHelper } from './helper-launch.js';
import { type CaptureSource, bodyLength, decodeFromHelper, encodeToHelper, type FromHelper, type ToHelper } from './helper-protocol.js';
import { badHandle, lastErrorText, win32 } from './win32-api.js';

const WAIT_OBJECT_0 = 0;
const RELAUNCH_PAUSE_MS = 2000;
/** The helper's stdout pipe is asked for 1 MiB (helper-launch.ts): no read returns more. */
const READ_CHUNK_BYTES = 1 << 20;

export interface HelperDesktopOptions {
  log: (msg: string) => void;
  /** node.exe to run (default: this process's). */
  program?: string;
  /** Arguments after node.exe (default: `helperArgs()`). */
  args?: string[];
  /** How long a new helper may take to say hello (default 20 s: node start-up on a loaded machine). */
  helloTimeoutMs?: number;
  /** How long one grab may take (default 10 s). */
  grabTimeoutMs?: number;
}

/** A SessionDesktop served by a helper process, with what tests and logs want to see of it. */
export interface HelperDesktop extends SessionDesktop {
  /** The running helper's pid (0 when none runs). */
  readonly helperPid: number;
  /** How the last frame was captured in the helper. */
  readonly source: CaptureSource;
}

interface Channel {
  helper: LaunchedHelper;
  dead: boolean;
  reading: number;
  closedHandles: boolean;
}

function exitCodeOf(h: bigint): number | undefined {
  const w = win32();
  if (w.WaitForSingleObject(h, 0) !== WAIT_OBJECT_0) return undefined;
  const code = Buffer.alloc(4);
  return w.GetExitCodeProcess(h, code) ? code.readUInt32LE(0) : -1;
}

function kill(ch: Channel): void {
  const w = win32();
  ch.dead = true;
  if (ch.helper.job !== undefined) w.TerminateJobObject(ch.helper.job, 1);
  else w.TerminateProcess(ch.helper.process, 1);
}

/** Closes the channel's handles once no read is in flight (a worker thread may still be in ReadFile). */
function release(ch: Channel): void {
  if (ch.closedHandles || ch.reading > 0) return;
  ch.closedHandles = true;
  const w = win32();
  for (const h of [ch.helper.toHelper, ch.helper.fromHelper, ch.helper.process, ch.helper.job]) if (h !== undefined && !badHandle(h)) w.CloseHandle(h);
}

async function readExact(ch: Channel, buf: Buffer): Promise<Result<void>> {
  const w = win32();
  const got = Buffer.alloc(4);
  let off = 0;
  ch.reading++;
  try {
    while (off < buf.length) {
      if (ch.closedHandles) return err(ErrorCode.NOT_AVAILABLE, 'the session helper is closed');
      // At most what the pipe holds per call: a whole frame's buffer never crosses to the worker at once.
      const n0 = Math.min(buf.length - off, READ_CHUNK_BYTES);
      const okRead = await new Promise<boolean>((resolve, reject) =>
        w.ReadFile.async(ch.helper.fromHelper, buf.subarray(off, off + n0), n0, got, null, (e: unknown, r: boolean) => (e ? reject(e) : resolve(r))),
      );
      const n = got.readUInt32LE(0);
      if (!okRead || n === 0) {
        ch.dead = true;
        const code = exitCodeOf(ch.helper.process);
        // GetLastError belongs to the worker thread that ran ReadFile: the exit code says more anyway.
        return err(ErrorCode.NOT_AVAILABLE, `the session helper went away${code === undefined ? '' : ` (exit code ${code})`}`);
      }
      off += n;
    }
    return ok(undefined);
  } finally {
    ch.reading--;
    if (ch.dead) release(ch);
  }
}

async function readMessage(ch: Channel): Promise<Result<FromHelper>> {
  const prefix = Buffer.alloc(4);
  const p = await readExact(ch, prefix);
  if (!p.ok) return p;
  const n = bodyLength(prefix);
  if (!n.ok) return n;
  const body = Buffer.allocUnsafe(n.value);
  const b = await readExact(ch, body);
  return b.ok ? decodeFromHelper(body) : b;
}

function write(ch: Channel, m: ToHelper): Result<void> {
  if (ch.dead) return err(ErrorCode.NOT_AVAILABLE, 'the session helper is not running');
  const buf = Buffer.concat(encodeToHelper(m));
  const written = Buffer.alloc(4);
  if (win32().WriteFile(ch.helper.toHelper, buf, buf.length, written, null) && written.readUInt32LE(0) === buf.length) return ok(undefined);
  ch.dead = true;
  return err(ErrorCode.NOT_AVAILABLE, `${lastErrorText('WriteFile').text}: the session helper went away`);
}

/** Races `p` against a deadline; on timeout `onTimeout` runs (it must make `p` settle) and TIMEOUT is returned. */
async function within<T>(p: Promise<Result<T>>, ms: number, what: string, onTimeout: () => void): Promise<Result<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Result<T>>((resolve) => {
    timer = setTimeout(() => {
      onTimeout();
      resolve(err(ErrorCode.TIMEOUT, `the session helper did not ${what} within ${ms} ms; it was stopped`));
    }, ms);
  });
  try {
    return await Promise.race([p, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The helper's arguments after node.exe: the standalone entry beside this module when it is there
 * (the agent runs from source or unbundled), else the agent's own entry script, which must then call
 * `runSessionHelperIfAsked()` first (a bundled agent: one file plays both roles).
 */
export function helperArgs(): string[] {
  for (const name of ['./session-helper/main.js', './session-helper/main.ts']) {
    const url = new URL(name, import.meta.url);
    if (url.protocol === 'file:' && existsSync(url)) return defaultHelperArgs(process.execArgv, fileURLToPath(url));
  }
  return defaultHelperArgs();
}

/** Starts a helper in `sessionId` and waits for its hello. */
async function start(sessionId: number, opts: HelperDesktopOptions): Promise<Result<{ ch: Channel; source: CaptureSource }>> {
  const launched = launchSessionHelper(sessionId, { program: opts.program, args: opts.args ?? helperArgs() });
  if (!launched.ok) return launched;
  const ch: Channel = { helper: launched.value, dead: false, reading: 0, closedHandles: false };
  const fail = (e: GcError): Result<never> => {
    kill(ch);
    release(ch);
    return { ok: false, error: e };
  };
  for (;;) {
    const m = await within(readMessage(ch), opts.helloTimeoutMs ?? 20_000, 'start', () => kill(ch));
    if (!m.ok) return fail({ code: m.error.code, message: `session helper (pid ${ch.helper.pid}) in session ${sessionId}: ${m.error.message}` });
    if (m.value.type === 'log') {
      opts.log(`session ${sessionId} helper: ${m.value.text}`);
      continue;
    }
    if (m.value.type !== 'hello') return fail({ code: ErrorCode.MALFORMED_MESSAGE, message: `session helper said ${m.value.type} before hello` });
    // On Windows the token's session decides where the helper runs: check it landed where we aimed.
    if (m.value.sessionId !== sessionId) {
      return fail({ code: ErrorCode.SESSION_NOT_CAPTURABLE, message: `the session helper started in session ${m.value.sessionId}, not ${sessionId}` });
    }
    opts.log(`session ${sessionId} helper started (pid ${m.value.pid}, ${m.value.source}): ${m.value.note}`);
    return ok({ ch, source: m.value.source });
  }
}

/** Opens `sessionId`'s desktop through a helper process started in that session. */
export async function openHelperDesktop(sessionId: number, opts: HelperDesktopOptions): Promise<Result<HelperDesktop>> {
  const first = await start(sessionId, opts);
  if (!first.ok) return first;
  let ch: Channel | undefined = first.value.ch;
  let source = first.value.source;
  let base: RawFrame | undefined;
  let seq = 0;
  let closed = false;
  let lastLaunch = Date.now();
  let queue: Promise<unknown> = Promise.resolve();

  const alive = (): Channel | undefined => {
    if (ch && !ch.dead && exitCodeOf(ch.helper.process) !== undefined) ch.dead = true;
    if (ch?.dead) {
      release(ch);
      ch = undefined;
      base = undefined;
    }
    return ch;
  };

  const grabOnce = async (recycle: RawFrame | undefined): Promise<Result<RawFrame>> => {
    if (closed) return err(ErrorCode.NOT_AVAILABLE, 'the desktop is closed');
    let c = alive();
    if (!c) {
      if (Date.now() - lastLaunch < RELAUNCH_PAUSE_MS) return err(ErrorCode.NOT_AVAILABLE, `the session ${sessionId} helper stopped; restarting it shortly`);
      lastLaunch = Date.now();
      opts.log(`session ${sessionId} helper is gone; starting a new one`);
      const again = await start(sessionId, opts);
      if (!again.ok) return again;
      if (closed) {
        kill(again.value.ch);
        release(again.value.ch);
        return err(ErrorCode.NOT_AVAILABLE, 'the desktop is closed');
      }
      ch = c = again.value.ch;
    }
    const cur = c;
    seq = (seq + 1) >>> 0 || 1;
    const mySeq = seq;
    const sent = write(cur, { type: 'grab', seq: mySeq, full: base === undefined });
    if (!sent.ok) return sent;
    const answer = async (): Promise<Result<RawFrame>> => {
      for (;;) {
        const m = await readMessage(cur);
        if (!m.ok) return m;
        const v = m.value;
        if (v.type === 'log') opts.log(`session ${sessionId} helper: ${v.text}`);
        else if (v.type === 'failure' && v.seq === 0) opts.log(`session ${sessionId} helper: input failed: ${v.code} ${v.message}`);
        else if (v.type === 'failure' && v.seq === mySeq) return err(v.code, v.message);
        else if (v.type === 'frame' && v.seq === mySeq) {
          const f = applyRects(base, v, recycle);
          if (!f.ok) return f;
          base = f.value;
          source = v.source;
          return f;
        } else return err(ErrorCode.MALFORMED_MESSAGE, `session helper answered grab ${mySeq} with ${v.type} ${'seq' in v ? v.seq : ''}`);
      }
    };
    const r = await within(answer(), opts.grabTimeoutMs ?? 10_000, 'deliver a frame', () => kill(cur));
    if (!r.ok && (r.error.code === ErrorCode.MALFORMED_MESSAGE || r.error.code === ErrorCode.TIMEOUT)) {
      // The stream can no longer be trusted: the next grab starts a new helper.
      kill(cur);
      base = undefined;
    }
    return r;
  };

  const input = (m: ToHelper): Result<void> => {
    if (closed) return err(ErrorCode.NOT_AVAILABLE, 'the desktop is closed');
    const c = alive();
    return c ? write(c, m) : err(ErrorCode.NOT_AVAILABLE, `the session ${sessionId} helper is not running`);
  };

  return ok({
    sessionId,
    get helperPid() {
      return ch && !ch.dead ? ch.helper.pid : 0;
    },
    get source() {
      return source;
    },
    grab(recycle?: RawFrame) {
      // One grab at a time: replies are matched by order on one pipe.
      const once = () => grabOnce(recycle);
      const p = queue.then(once, once);
      queue = p;
      return p;
    },
    mouse: (ev: MouseEvent) => input({ type: 'mouse', x: ev.x ?? 0, y: ev.y ?? 0, buttons: ev.buttons ?? 0, wheel: ev.wheel ?? 0 }),
    key: (ev: KeyEvent) => input({ type: 'key', keyCode: ev.keyCode ?? 0, down: ev.down ?? false, text: ev.text ?? '' }),
    clearClipboard: () => input({ type: 'clearClipboard' }),
    close() {
      if (closed) return;
      closed = true;
      const c = ch;
      ch = undefined;
      if (!c) return;
      if (!c.dead) write(c, { type: 'close' });
      // Not waiting for a goodbye: the job ends the helper now, and a read in flight ends with the pipe.
      kill(c);
      release(c);
    },
  });
}
