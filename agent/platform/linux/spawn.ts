/**
 * Starts a backstage command: `/bin/sh -c <text>` with the text as ONE argv element (no shell
 * parsing by us), detached into its own session so the whole tree can be found and killed.
 */
import { childProcess } from '../../lazy-builtins.js';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { guruconnect } from '../../../proto/generated/guruconnect.js';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { SpawnRequest, SpawnedProcess } from '../port.js';
import { onPath } from './exec.js';
import { killTree } from './kill-tree.js';
import { posixSpawn } from './posix-spawn.js';
import { type RunAs, runAsEnv, runAsFor, runAsSpawnOptions } from './run-as.js';
import type { LinuxSession } from './sessions.js';

const { Shell } = guruconnect;

/** Environment variable that tags every process of one command, even those that leave its session. */
export const TREE_MARKER_VAR = 'GC_BACKSTAGE_TREE';

/** argv for the requested shell, or why it cannot run here. */
async function shellArgv(shell: guruconnect.Shell, text: string): Promise<Result<string[]>> {
  switch (shell) {
    case Shell.SHELL_DEFAULT:
    case Shell.SHELL_SH:
      return ok(['/bin/sh', '-c', text]);
    case Shell.SHELL_POWERSHELL: {
      const pwsh = await onPath('pwsh');
      if (!pwsh) return err(ErrorCode.NOT_AVAILABLE, 'PowerShell (pwsh) is not installed on this Linux host; use the default shell');
      return ok([pwsh, '-NoProfile', '-NonInteractive', '-Command', text]);
    }
    case Shell.SHELL_CMD:
      return err(ErrorCode.NOT_AVAILABLE, 'cmd.exe does not exist on Linux; use the default shell (/bin/sh)');
    default:
      return err(ErrorCode.VALIDATION_FAILED, `unknown shell ${shell}`);
  }
}

/** Spawns per SpawnRequest; `findSession` resolves a non-zero asSessionId. */
export async function spawnLinux(req: SpawnRequest, findSession: (id: number) => Promise<LinuxSession | undefined>): Promise<Result<SpawnedProcess>> {
  const argv = await shellArgv(req.shell, req.commandText);
  if (!argv.ok) return argv;
  const who = await runAsFor(req.asSessionId, findSession);
  if (!who.ok) return who;
  const w = who.value;
  const marker = `${TREE_MARKER_VAR}=${randomUUID()}`;
  const env = runAsEnv(w, { ...process.env, [TREE_MARKER_VAR]: marker.split('=')[1] });
  const [file, ...args] = argv.value;
  const started = await start(file!, args, env, w);
  if (started instanceof Error) return err(ErrorCode.PLATFORM_ERROR, `could not start ${file}: ${started.message}`);
  const { pid, stdout, stderr, exited } = started;
  const listeners: ((stream: 'stdout' | 'stderr', bytes: Uint8Array) => void)[] = [];
  // Bytes that arrive before anyone listens are kept, so no output is lost to a late onData.
  const early: ['stdout' | 'stderr', Uint8Array][] = [];
  const deliver = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
    if (listeners.length === 0) early.push([stream, b]);
    for (const l of listeners) l(stream, b);
  };
  stdout.on('data', deliver('stdout'));
  stderr.on('data', deliver('stderr'));
  let killing: Promise<void> | undefined;
  return ok({
    pid,
    encoding: 'utf-8',
    runAsUser: w.user,
    onData(cb) {
      listeners.push(cb);
      for (const [s, b] of early.splice(0)) cb(s, b);
    },
    exited,
    killTree() {
      killing ??= killTree(pid, marker);
      return killing;
    },
  });
}

/** A started process: its pid, its output pipes, and its exit code once it ended and both pipes are drained. */
interface Started {
  pid: number;
  stdout: Readable;
  stderr: Readable;
  exited: Promise<{ exitCode: number }>;
}

/**
 * posix_spawn for commands under the agent's own identity (no fork of the agent's memory:
 * posix-spawn.ts), child_process where it is not available or the command runs as another user.
 */
async function start(file: string, args: string[], env: NodeJS.ProcessEnv, w: RunAs): Promise<Started | Error> {
  const { cwd, uid, gid } = runAsSpawnOptions(w);
  if (uid === undefined && gid === undefined) {
    const p = await posixSpawn(file, args, { env, cwd });
    if (p) return p instanceof Error ? p : { ...p, exited: p.exited.then((exitCode) => ({ exitCode })) };
  }
  const child = childProcess().spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env, cwd, uid, gid });
  const pid = await new Promise<number | Error>((resolve) => {
    child.once('spawn', () => resolve(child.pid ?? -1));
    child.once('error', (e) => resolve(e));
  });
  if (pid instanceof Error) return pid;
  const exited = new Promise<{ exitCode: number }>((resolve) => {
    // 'close' comes after 'exit' and after both pipes hit EOF. Killed by a signal: no exit code, -1.
    child.once('close', (code) => resolve({ exitCode: code ?? -1 }));
  });
  return { pid, stdout: child.stdout, stderr: child.stderr, exited };
}
