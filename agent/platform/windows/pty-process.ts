/**
 * A shell running on a pseudo console, as the terminal manager sees it (PtyProcess): output read
 * from ConPTY's pipe, keystrokes written to the other, the tree ended through its Job object.
 *
 * The output pipe is polled (PeekNamedPipe + ReadFile on the main thread) for the reason spawn.ts
 * gives: a blocking koffi async ReadFile would hold one of libuv's four pool threads for the whole
 * life of the terminal. Writes do go through koffi async calls, one at a time: they are short, and a
 * WriteFile stuck on a full pipe must not freeze the agent.
 */
import { ErrorCode, type Result, err } from '../../../proto/errors.js';
import type { PtyProcess } from '../../terminal/pty-types.js';
import { type PseudoConsole, closePseudoConsole, resizePseudoConsole } from './conpty.js';
import { closeAll } from './process-job.js';
import { win32 } from './win32-api.js';

const WAIT_OBJECT_0 = 0;
const POLL_FAST_MS = 5;
const POLL_SLOW_MS = 40;
/** Fast polls after the last output or input before slowing down (about 100 ms). */
const FAST_POLLS = 20;
/** How long to wait for the pipe to break after the pseudo console closed (Wine's conhost lingers). */
const FINAL_DRAIN_POLLS = 200;
const CHUNK_BYTES = 64 * 1024;

export interface RunningConPty {
  pid: number;
  hProcess: bigint;
  /** The kill-on-close Job object holding the shell's tree (undefined if Windows refused one). */
  job: bigint | undefined;
  console: PseudoConsole;
  runAsUser: string;
}

type Async = (...args: unknown[]) => void;
const asyncCall = (fn: unknown, ...args: unknown[]) => new Promise<unknown>((resolve, reject) => (fn as { async: Async }).async(...args, (e: unknown, v: unknown) => (e ? reject(e) : resolve(v))));

/** Wraps a started shell; `exited` resolves once it ended, the pseudo console closed and its output drained. */
export function runningConPty(r: RunningConPty): PtyProcess {
  const w = win32();
  const { hpc, input, output } = r.console;
  let job = r.job;
  const listeners: ((b: Uint8Array) => void)[] = [];
  const early: Uint8Array[] = [];
  const deliver = (b: Uint8Array) => {
    if (listeners.length === 0) early.push(b);
    for (const l of listeners) l(b);
  };

  let outputOpen = true;
  const avail = Buffer.alloc(4);
  const got = Buffer.alloc(4);
  const chunk = Buffer.alloc(CHUNK_BYTES);
  /** Reads what waits in the output pipe; true when anything arrived. */
  const drain = (): boolean => {
    if (!outputOpen) return false;
    if (!w.PeekNamedPipe(output, null, 0, null, avail, null)) {
      // ERROR_BROKEN_PIPE: conhost is gone and everything it wrote has been read.
      outputOpen = false;
      return false;
    }
    let n = avail.readUInt32LE(0);
    let any = false;
    while (n > 0 && w.ReadFile(output, chunk, Math.min(n, chunk.length), got, null)) {
      const k = got.readUInt32LE(0);
      if (k === 0) break;
      // ConPTY speaks UTF-8 VT sequences: passed on as they are.
      deliver(Uint8Array.prototype.slice.call(chunk, 0, k));
      any = true;
      n -= k;
    }
    return any;
  };

  let idle = 0;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = undefined;
        resolve();
      };
    });
  /** Input just went in: poll fast again so the echo comes back at once. */
  const hurry = () => {
    idle = 0;
    wake?.();
  };

  let inputOpen = true;
  let writes: Promise<void> = Promise.resolve();
  const writeAll = async (buf: Buffer) => {
    const done = Buffer.alloc(4);
    for (let at = 0; at < buf.length && inputOpen; ) {
      const okay = await asyncCall(w.WriteFile, input, buf.subarray(at), buf.length - at, done, null).catch(() => false);
      const n = done.readUInt32LE(0);
      if (!okay || n === 0) {
        inputOpen = false; // the pseudo console is gone: nothing left to deliver keystrokes to
        return;
      }
      at += n;
    }
    hurry();
  };

  let done = false;
  let killed = false;
  const exited = (async () => {
    while (w.WaitForSingleObject(r.hProcess, 0) !== WAIT_OBJECT_0) {
      idle = drain() ? 0 : idle + 1;
      await pause(idle < FAST_POLLS ? POLL_FAST_MS : POLL_SLOW_MS);
    }
    drain();
    const code = Buffer.alloc(4);
    const exitCode = w.GetExitCodeProcess(r.hProcess, code) ? code.readInt32LE(0) : -1;
    // What the shell left running (start /b ...) ends with the kill-on-close job.
    if (job !== undefined) closeAll(job);
    job = undefined;
    let closed = false;
    const closing = closePseudoConsole(hpc).then(() => {
      closed = true;
    });
    while (!closed) {
      if (!drain()) await pause(POLL_FAST_MS);
    }
    await closing;
    for (let i = 0; i < FINAL_DRAIN_POLLS && outputOpen; i++) {
      if (!drain()) await pause(POLL_FAST_MS);
    }
    inputOpen = false;
    await writes;
    closeAll(input, output, r.hProcess);
    done = true;
    return { exitCode };
  })();

  return {
    pid: r.pid,
    runAsUser: r.runAsUser,
    onData(cb) {
      listeners.push(cb);
      for (const b of early.splice(0)) cb(b);
    },
    write(bytes) {
      if (!inputOpen || done || bytes.byteLength === 0) return;
      const copy = Buffer.from(bytes); // the caller may reuse its buffer before the write runs
      writes = writes.then(() => writeAll(copy));
    },
    async resize(cols, rows): Promise<Result<void>> {
      if (done || killed) return err(ErrorCode.CONFLICT, 'the terminal has ended');
      return resizePseudoConsole(hpc, cols, rows);
    },
    // The process started is the shell itself (no wrapper as `script` on Linux).
    shellPid: async () => r.pid,
    exited,
    async killTree() {
      if (!killed && !done) {
        killed = true;
        if (job !== undefined) w.TerminateJobObject(job, 1);
        else w.TerminateProcess(r.hProcess, 1);
      }
      await exited;
    },
  };
}
