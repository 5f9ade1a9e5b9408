/**
 * The interactive terminal on Windows: cmd.exe or PowerShell attached to a ConPTY pseudo console,
 * started as the agent (CreateProcessW; SYSTEM in Session 0 when the agent is a service) or as a
 * session's user (CreateProcessAsUserW with the token spawn.ts gets), the tree in a Job object.
 */
import { existsSync } from 'node:fs';
import { guruconnect } from '../../../proto/generated/guruconnect.js';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { PtyProcess, PtyRequest } from '../../terminal/pty-types.js';
import { attachingStartupInfo, clampSize, closePseudoConsole, openPseudoConsole } from './conpty.js';
import { runningConPty } from './pty-process.js';
import { closeAll, resumeInJob } from './process-job.js';
import { shellPaths, userContext } from './spawn.js';
import { processAccount } from './tokens.js';
import { wide } from './utf16.js';
import { lastErrorText, win32 } from './win32-api.js';

const { Shell } = guruconnect;
const CREATE_SUSPENDED = 0x4;
const CREATE_UNICODE_ENVIRONMENT = 0x400;
const EXTENDED_STARTUPINFO_PRESENT = 0x00080000;

/** The command line of an interactive shell (paths from the environment, never searched on PATH). */
export function ptyCommandLine(shell: guruconnect.Shell, paths: { cmd: string; powershell: string } = shellPaths()): Result<string> {
  switch (shell) {
    case Shell.SHELL_DEFAULT:
    case Shell.SHELL_CMD:
      return ok(`"${paths.cmd}"`);
    case Shell.SHELL_POWERSHELL:
      return ok(`"${paths.powershell}" -NoLogo`);
    case Shell.SHELL_SH:
      return err(ErrorCode.NOT_AVAILABLE, 'sh does not exist on Windows: open the terminal with cmd or PowerShell');
    default:
      return err(ErrorCode.VALIDATION_FAILED, `unknown shell ${shell}`);
  }
}

/** What to start on a new pseudo console: any command line, as the agent (0) or a session's user. */
export interface ConPtyLaunch {
  commandLine: string;
  cols: number;
  rows: number;
  asSessionId: number;
}

/** Starts the requested shell on a new pseudo console (the terminal manager's SpawnPty on Windows). */
export async function spawnWindowsPty(req: PtyRequest): Promise<Result<PtyProcess>> {
  const paths = shellPaths();
  if (req.shell === Shell.SHELL_POWERSHELL && !existsSync(paths.powershell)) {
    return err(ErrorCode.NOT_AVAILABLE, `powershell.exe is not installed here (${paths.powershell}): open the terminal with cmd`);
  }
  const line = ptyCommandLine(req.shell, paths);
  if (!line.ok) return line;
  return startConPty({ commandLine: line.value, cols: req.cols, rows: req.rows, asSessionId: req.asSessionId });
}

/** Starts `launch.commandLine` attached to a new pseudo console, its tree in a kill-on-close Job object. */
export async function startConPty(launch: ConPtyLaunch): Promise<Result<PtyProcess>> {
  const w = win32();
  const user = launch.asSessionId !== 0 ? userContext(launch.asSessionId) : undefined;
  if (user && !user.ok) return user;
  const u = user?.value;
  const releaseUser = () => {
    if (!u) return;
    if (u.env) w.DestroyEnvironmentBlock(u.env);
    closeAll(u.token);
  };
  const pc = openPseudoConsole(clampSize(launch.cols, 80), clampSize(launch.rows, 24));
  if (!pc.ok) {
    releaseUser();
    return pc;
  }
  const con = pc.value;
  const abandon = async () => {
    await closePseudoConsole(con.hpc);
    closeAll(con.input, con.output);
  };
  const startup = attachingStartupInfo(con.hpc, u ? wide('winsta0\\default') : null);
  if (!startup.ok) {
    releaseUser();
    await abandon();
    return startup;
  }
  const pi = Buffer.alloc(24);
  const cmdLine = wide(launch.commandLine); // CreateProcessW may write into the command line: a private buffer.
  const flags = EXTENDED_STARTUPINFO_PRESENT | CREATE_SUSPENDED | (u?.env ? CREATE_UNICODE_ENVIRONMENT : 0);
  // No handle inheritance: the shell reaches the pseudo console through the attribute, nothing else.
  const created = u
    ? w.CreateProcessAsUserW(u.token, null, cmdLine, null, null, false, flags, u.env || null, null, startup.value.si, pi)
    : w.CreateProcessW(null, cmdLine, null, null, false, flags, null, null, startup.value.si, pi);
  const createErr = created ? undefined : lastErrorText(u ? 'CreateProcessAsUserW' : 'CreateProcessW');
  startup.value.release();
  const runAsUser = u ? u.account : processAccount(w.GetCurrentProcess());
  releaseUser();
  if (createErr) {
    await abandon();
    return err(ErrorCode.PLATFORM_ERROR, createErr.text);
  }
  // Without the job, closing the terminal could end only the shell, not what it started: refused then.
  const started = resumeInJob(pi);
  if (!started.ok) {
    await abandon();
    return started;
  }
  const { pid, hProcess, job } = started.value;
  return ok(runningConPty({ pid, hProcess, job, console: con, runAsUser }));
}
