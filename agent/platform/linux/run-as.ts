/**
 * Who a backstage process runs as: the agent itself for session 0, or the user of a chosen session
 * (its uid, gid, home, display). Shared by one-shot commands (spawn.ts) and the pty (pty.ts).
 */
import { existsSync } from 'node:fs';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import { readAccounts } from './passwd.js';
import type { LinuxSession } from './sessions.js';

export interface RunAs {
  user: string;
  /** Absent: the agent's own identity (no uid/gid switch). */
  uid?: number;
  gid?: number;
  home: string;
  loginShell: string;
  display: string | null;
}

/** Resolves `asSessionId` (0 = the agent's account) to a user; refuses unknown sessions and users. */
export async function runAsFor(asSessionId: number, findSession: (id: number) => Promise<LinuxSession | undefined>): Promise<Result<RunAs>> {
  if (asSessionId === 0) return ok(await ownAccount());
  const { byUid } = await readAccounts();
  const s = await findSession(asSessionId);
  if (!s) return err(ErrorCode.SESSION_NOT_FOUND, `session ${asSessionId} does not exist on this host; refresh the session list`);
  if (s.uid < 0 || s.gid < 0) return err(ErrorCode.PLATFORM_ERROR, `user "${s.user}" of session ${asSessionId} has no local account`);
  if (s.uid !== process.getuid?.() && process.getuid?.() !== 0) {
    return err(ErrorCode.AGENT_NOT_ELEVATED, `running as ${s.user} needs the agent to run as root`);
  }
  return ok({ user: s.user, uid: s.uid, gid: s.gid, home: s.home, loginShell: byUid.get(s.uid)?.shell ?? '', display: s.display });
}

/** `base` with the target user's identity: nothing of the agent's own session leaks in. */
export function runAsEnv(w: RunAs, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...base };
  if (w.uid === undefined) return env;
  for (const k of ['XAUTHORITY', 'DISPLAY', 'MAIL', 'SUDO_USER', 'SUDO_UID', 'SUDO_GID', 'SUDO_COMMAND']) delete env[k];
  Object.assign(env, { HOME: w.home, USER: w.user, LOGNAME: w.user });
  if (w.display) env.DISPLAY = w.display;
  if (w.display && existsSync(`${w.home}/.Xauthority`)) env.XAUTHORITY = `${w.home}/.Xauthority`;
  return env;
}

/** The child_process options that switch to the user: identity and working directory. */
export function runAsSpawnOptions(w: RunAs): { cwd: string; uid?: number; gid?: number } {
  return { cwd: existsSync(w.home) ? w.home : '/', uid: w.uid, gid: w.gid };
}

let own: Promise<RunAs> | undefined;

/**
 * The agent's own account, read once: the agent's uid does not change while it runs, and reading
 * /etc/passwd for every backstage command was a measurable part of a short one. Other sessions'
 * users are read fresh (users come and go).
 */
function ownAccount(): Promise<RunAs> {
  own ??= readAccounts().then(({ byUid }) => {
    const me = byUid.get(process.getuid?.() ?? 0);
    return { user: me?.name ?? process.env.USER ?? 'root', home: me?.home ?? process.env.HOME ?? '/', loginShell: process.env.SHELL || me?.shell || '', display: null };
  });
  return own;
}
