/** A supervised child process whose output goes to a log file and which can be stopped cleanly. */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<void>;
}

export function startChild(
  cmd: string,
  args: string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number /** Open a pipe as fd 3 (e.g. Xvfb -displayfd 3). */; fd3?: boolean },
): Child {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  // The child writes its log file itself (its stdout and stderr are the file, opened for appending).
  // Piped through this process instead, every line a service logs woke this process to copy it:
  // the launcher, which in `npm start` also runs the gateway and in the benches is the client.
  const log = openSync(opts.logFile, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, uid: opts.uid, gid: opts.gid, stdio: opts.fd3 ? ['ignore', log, log, 'pipe'] : ['ignore', log, log] });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(log);
  }
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  return {
    proc,
    exited,
    async stop(graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
