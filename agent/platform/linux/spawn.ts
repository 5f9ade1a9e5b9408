/**
 * Starts a backstage command: `/bin/sh -c <text>` with the text as ONE argv element (no shell
 * parsing by us), detached into its own session so the whole tree can be found and killed.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { guruconnect } from '../../../proto/generated/guruconnect.js';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { SpawnRequest, SpawnedProcess } from '../port.js';
import { onPath } from './exec.js';
import { killTree } from './kill-tree.js';
import { readAccounts } from './passwd.js';
import type { LinuxSession } from './sessions.js';

const { Shell } = guruconnect;

/** Environment variable that tags every process of one command, even those that leave its session. */
export const TREE_MARKER_VAR = 'GC_BACKSTAGE_TREE';

/** argv for the requested shell, or why it cannot run here. */
export async function shellArgv(shell: guruconnect.Shell, text: string): Promise<Result<string[]>> {
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

interface RunAs {
  user: string;
  uid?: number;
  gid?: number;
  home: string;
  display: string | null;
}

/** Who runs the command: the agent itself for session 0, else the session's user. */
async function runAsFor(asSessionId: number, findSession: (id: number) => Promise<LinuxSession | undefined>): Promise<Result<RunAs>> {
  if (asSessionId === 0) {
    const { byUid } = await readAccounts();
    const me = byUid.get(process.getuid?.() ?? 0);
    return ok({ user: me?.name ?? process.env.USER ?? 'root', home: me?.home ?? '/', display: null });
  }
  const s = await findSession(asSessionId);
  if (!s) return err(ErrorCode.SESSION_NOT_FOUND, `session ${asSessionId} does not exist on this host; refresh the session list`);
  if (s.uid < 0 || s.gid < 0) return err(ErrorCode.PLATFORM_ERROR, `user "${s.user}" of session ${asSessionId} has no local account`);
  if (s.uid !== process.getuid?.() && process.getuid?.() !== 0) {
    return err(ErrorCode.AGENT_NOT_ELEVATED, `running as ${s.user} needs the agent to run as root`);
  }
  return ok({ user: s.user, uid: s.uid, gid: s.gid, home: s.home, display: s.display });
}

/** Spawns per SpawnRequest; `findSession` resolves a non-zero asSessionId. */
export async function spawnLinux(req: SpawnRequest, findSession: (id: number) => Promise<LinuxSession | undefined>): Promise<Result<SpawnedProcess>> {
  const argv = await shellArgv(req.shell, req.commandText);
  if (!argv.ok) return argv;
  const who = await runAsFor(req.asSessionId, findSession);
  if (!who.ok) return who;
  const w = who.value;
  const marker = `${TREE_MARKER_VAR}=${randomUUID()}`;
  const env: NodeJS.ProcessEnv = { ...process.env, [TREE_MARKER_VAR]: marker.split('=')[1] };
  if (w.uid !== undefined) {
    // Only the target user's identity: nothing of the agent's own session leaks in.
    for (const k of ['XAUTHORITY', 'DISPLAY', 'MAIL', 'SUDO_USER', 'SUDO_UID', 'SUDO_GID', 'SUDO_COMMAND']) delete env[k];
    Object.assign(env, { HOME: w.home, USER: w.user, LOGNAME: w.user });
    if (w.display) env.DISPLAY = w.display;
    if (w.display && existsSync(`${w.home}/.Xauthority`)) env.XAUTHORITY = `${w.home}/.Xauthority`;
  }
  const [file, ...args] = argv.value;
  const child = spawn(file!, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
    cwd: existsSync(w.home) ? w.home : '/',
    uid: w.uid,
    gid: w.gid,
  });
  const pid = await new Promise<number | Error>((resolve) => {
    child.once('spawn', () => resolve(child.pid ?? -1));
    child.once('error', (e) => resolve(e));
  });
  if (pid instanceof Error) return err(ErrorCode.PLATFORM_ERROR, `could not start ${file}: ${pid.message}`);
  const listeners: ((stream: 'stdout' | 'stderr', bytes: Uint8Array) => void)[] = [];
  // Bytes that arrive before anyone listens are kept, so no output is lost to a late onData.
  const early: ['stdout' | 'stderr', Uint8Array][] = [];
  const deliver = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
    if (listeners.length === 0) early.push([stream, b]);
    for (const l of listeners) l(stream, b);
  };
  child.stdout.on('data', deliver('stdout'));
  child.stderr.on('data', deliver('stderr'));
  const exited = new Promise<{ exitCode: number }>((resolve) => {
    // 'close' comes after 'exit' and after both pipes hit EOF. Killed by a signal: no exit code, -1.
    child.once('close', (code) => resolve({ exitCode: code ?? -1 }));
  });
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
