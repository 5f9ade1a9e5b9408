/**
 * Starts a backstage command with glibc's posix_spawn (through koffi) instead of Node's
 * child_process. Why: libuv forks, and a fork copies the page tables of the whole agent, whose
 * memory holds captured frames — measured here, `sh -c 'echo hi'` took 21 ms from a process of
 * 400 MB against 1.6 ms from a small one, and was most of a backstage `echo`. posix_spawn clones
 * without copying them (CLONE_VM | CLONE_VFORK), 2.3 ms from the same 400 MB.
 *
 * The child gets what child_process gave it (spawn.ts asked for detached, stdin ignored, piped
 * output): its own session (setsid), /dev/null as stdin, stdout and stderr on pipes, the signal
 * mask empty and every signal at its default (Node ignores SIGPIPE; a shell pipeline must not
 * inherit that). Only the agent's own identity: switching user stays with child_process.
 *
 * libuv reaps only the children it started, so this one is reaped here with waitpid(WNOHANG): at
 * once when its pipes close (how a command normally ends), and by a slow poll until then (so a
 * command whose pipes a stray descendant keeps open still leaves no zombie).
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export interface PosixChild {
  pid: number;
  stdout: Readable;
  stderr: Readable;
  /** Resolves once the process was reaped and both pipes closed: its exit code, -1 when a signal ended it. */
  exited: Promise<number>;
}

interface Libc {
  pipe2(fds: number[], flags: number): number;
  spawn(pid: number[], path: string, fa: Buffer, attr: Buffer, argv: (string | null)[], envp: (string | null)[]): number;
  faInit(fa: Buffer): number;
  faDestroy(fa: Buffer): number;
  faDup2(fa: Buffer, fd: number, to: number): number;
  faOpen(fa: Buffer, fd: number, path: string, flags: number, mode: number): number;
  faChdir(fa: Buffer, path: string): number;
  attrInit(attr: Buffer): number;
  attrDestroy(attr: Buffer): number;
  attrFlags(attr: Buffer, flags: number): number;
  attrMask(attr: Buffer, set: Buffer): number;
  attrDefault(attr: Buffer, set: Buffer): number;
  sigemptyset(set: Buffer): number;
  sigfillset(set: Buffer): number;
  waitpid(pid: number, status: number[], options: number): number;
}

const O_CLOEXEC = 0o2000000;
const O_RDONLY = 0;
const WNOHANG = 1;
// glibc's <spawn.h>.
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
/** Larger than glibc's posix_spawn_file_actions_t (80 bytes), posix_spawnattr_t (336) and sigset_t (128) on 64-bit. */
const STRUCT_BYTES = 1024;
/** How often a command whose pipes are still open is checked for having exited (ms). */
const REAP_POLL_MS = 250;

let libc: Promise<Libc | undefined> | undefined;

/** glibc through koffi, loaded on first use; undefined where either is missing (then child_process is used). */
function loadLibc(): Promise<Libc | undefined> {
  libc ??= (async () => {
    try {
      const koffi = (await import('koffi')).default;
      const c = koffi.load('libc.so.6');
      const f = (sig: string) => c.func(sig) as (...a: unknown[]) => number;
      const fns = {
        pipe2: f('int pipe2(_Out_ int *fds, int flags)'),
        spawn: f('int posix_spawn(_Out_ int *pid, const char *path, void *fa, void *attr, const char **argv, const char **envp)'),
        faInit: f('int posix_spawn_file_actions_init(void *fa)'),
        faDestroy: f('int posix_spawn_file_actions_destroy(void *fa)'),
        faDup2: f('int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd)'),
        faOpen: f('int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int oflag, uint32_t mode)'),
        faChdir: f('int posix_spawn_file_actions_addchdir_np(void *fa, const char *path)'),
        attrInit: f('int posix_spawnattr_init(void *attr)'),
        attrDestroy: f('int posix_spawnattr_destroy(void *attr)'),
        attrFlags: f('int posix_spawnattr_setflags(void *attr, short flags)'),
        attrMask: f('int posix_spawnattr_setsigmask(void *attr, void *set)'),
        attrDefault: f('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
        sigemptyset: f('int sigemptyset(void *set)'),
        sigfillset: f('int sigfillset(void *set)'),
        waitpid: f('int waitpid(int pid, _Out_ int *status, int options)'),
      };
      return fns as unknown as Libc;
    } catch {
      return undefined;
    }
  })();
  return libc;
}

/**
 * Spawns `file` with `args` (argv[0] = file) as the agent's own user; undefined when posix_spawn is
 * not available here (the caller uses child_process), an Error when the spawn itself failed.
 */
export async function posixSpawn(file: string, args: string[], o: { env: NodeJS.ProcessEnv; cwd: string }): Promise<PosixChild | Error | undefined> {
  const c = await loadLibc();
  if (!c) return undefined;
  const envp = Object.entries(o.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  // C strings end at NUL: a command text with one would run cut short, unlike the one audited.
  // child_process refuses these too.
  if ([file, ...args, o.cwd, ...envp].some((x) => x.includes('\0'))) return new Error('an argument, the environment or the directory contains a NUL character');
  const out = [0, 0];
  const err = [0, 0];
  if (c.pipe2(out, O_CLOEXEC) !== 0) return new Error('pipe2 failed');
  if (c.pipe2(err, O_CLOEXEC) !== 0) {
    closeAll(out);
    return new Error('pipe2 failed');
  }
  const fa = Buffer.alloc(STRUCT_BYTES);
  const attr = Buffer.alloc(STRUCT_BYTES);
  const noSignals = Buffer.alloc(STRUCT_BYTES);
  const allSignals = Buffer.alloc(STRUCT_BYTES);
  c.faInit(fa);
  c.attrInit(attr);
  let rc: number;
  const pid = [0];
  try {
    c.sigemptyset(noSignals);
    c.sigfillset(allSignals);
    // glibc leaves its two internal signals (32, 33) out of a full set; the child gets them at their default too.
    allSignals[3]! |= 0x80;
    allSignals[4]! |= 0x01;
    c.faOpen(fa, 0, '/dev/null', O_RDONLY, 0);
    c.faDup2(fa, out[1]!, 1);
    c.faDup2(fa, err[1]!, 2);
    c.faChdir(fa, o.cwd);
    c.attrFlags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    c.attrMask(attr, noSignals);
    c.attrDefault(attr, allSignals);
    rc = c.spawn(pid, file, fa, attr, [file, ...args, null], [...envp, null]);
  } finally {
    c.faDestroy(fa);
    c.attrDestroy(attr);
    // The write ends belong to the child now (dup2 made them its 1 and 2).
    closeAll([out[1]!, err[1]!]);
  }
  if (rc !== 0) {
    closeAll([out[0]!, err[0]!]);
    return new Error(`posix_spawn ${file} failed (errno ${rc})`);
  }
  const stdout = new Socket({ fd: out[0]!, readable: true, writable: false });
  const stderr = new Socket({ fd: err[0]!, readable: true, writable: false });
  return { pid: pid[0]!, stdout, stderr, exited: reaped(c, pid[0]!, [stdout, stderr]) };
}

/** The exit code once `pid` is reaped and every pipe closed. */
function reaped(c: Libc, pid: number, pipes: Socket[]): Promise<number> {
  return new Promise((resolve) => {
    let code: number | undefined;
    let open = pipes.length;
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      if (code === undefined || open > 0) return;
      clearTimeout(timer);
      resolve(code);
    };
    const tryReap = (): boolean => {
      if (code !== undefined) return true;
      const status = [0];
      const r = c.waitpid(pid, status, WNOHANG);
      if (r === 0) return false;
      // Anything but our pid (ECHILD: someone else reaped it) ends the wait: there is nothing left to wait for.
      const s = status[0]!;
      code = r === pid && (s & 0x7f) === 0 ? (s >> 8) & 0xff : -1;
      return true;
    };
    const poll = (delayMs: number, maxMs: number) => {
      clearTimeout(timer);
      if (tryReap()) return settle();
      timer = setTimeout(() => poll(Math.min(delayMs * 2, maxMs), maxMs), delayMs);
    };
    for (const p of pipes) {
      p.once('close', () => {
        open--;
        // Pipes close when the process ends (or hands them on): look now and right after this turn
        // of the event loop (the exit is microseconds behind the close), then at growing intervals.
        if (open === 0 && !tryReap()) setImmediate(() => poll(1, REAP_POLL_MS));
        else settle();
      });
    }
    poll(REAP_POLL_MS, REAP_POLL_MS);
  });
}

function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
}
