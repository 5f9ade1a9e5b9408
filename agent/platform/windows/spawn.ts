/**
 * Backstage processes: cmd.exe or powershell.exe started with CreateProcessW (or CreateProcessAsUserW
 * into a user's session), stdout and stderr on two anonymous pipes, the whole tree in a Job object.
 *
 * Pipes are read by polling PeekNamedPipe + ReadFile on the main thread rather than with blocking
 * koffi async calls: those run on libuv's 4-thread pool, so two running commands would hold every
 * thread (and starve fs/dns) until they ended. Polling costs one cheap call per pipe every few ms.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { guruconnect } from '../../../proto/generated/guruconnect.js';
import { type Result, err, ok } from '../../../proto/errors.js';
import type { SpawnRequest, SpawnedProcess } from '../port.js';
import { outputEncodingFor } from './output-encoding.js';
import { processAccount, tokenAccount } from './tokens.js';
import { transcodeToUtf8 } from './transcode.js';
import { wide } from './utf16.js';
import { closeAll, resumeInJob } from './process-job.js';
import { addressOf, lastErrorText, win32 } from './win32-api.js';

const HANDLE_FLAG_INHERIT = 0x1;
const STARTF_USESHOWWINDOW = 0x1;
const STARTF_USESTDHANDLES = 0x100;
const CREATE_SUSPENDED = 0x4;
const CREATE_UNICODE_ENVIRONMENT = 0x400;
const CREATE_NO_WINDOW = 0x08000000;
const WAIT_OBJECT_0 = 0;
const ERROR_ACCESS_DENIED = 5;
const ERROR_PRIVILEGE_NOT_HELD = 1314;
const POLL_FAST_MS = 5;
const POLL_SLOW_MS = 40;

/** cmd.exe and powershell.exe paths from the environment (never searched on PATH). */
export function shellPaths(env: NodeJS.ProcessEnv = process.env): { cmd: string; powershell: string } {
  const root = env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows';
  return { cmd: env.ComSpec ?? `${root}\\System32\\cmd.exe`, powershell: `${root}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe` };
}

/**
 * The command line for a shell. cmd: `/d /s /c "<text>"` — with /s cmd strips exactly the outer
 * quotes and runs the rest as typed (quotes, &, |, > inside keep their cmd meaning; /d skips AutoRun).
 * PowerShell: -EncodedCommand (base64 UTF-16LE), so no quoting layer can alter the text.
 */
export function buildCommandLine(shell: guruconnect.Shell, text: string, paths: { cmd: string; powershell: string }): Result<string> {
  switch (shell) {
    case guruconnect.Shell.SHELL_DEFAULT:
    case guruconnect.Shell.SHELL_CMD:
      return ok(`"${paths.cmd}" /d /s /c "${text}"`);
    case guruconnect.Shell.SHELL_POWERSHELL: {
      const encoded = Buffer.from(text, 'utf16le').toString('base64');
      return ok(`"${paths.powershell}" -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ${encoded}`);
    }
    default:
      return err('NOT_AVAILABLE', 'this shell does not exist on Windows: use cmd or powershell');
  }
}

interface Pipe {
  read: bigint;
  write: bigint;
}

function createPipe(): Pipe | undefined {
  const w = win32();
  // SECURITY_ATTRIBUTES on x64: DWORD nLength; pad; LPVOID lpSecurityDescriptor @8; BOOL bInheritHandle @16 (24 bytes).
  const sa = Buffer.alloc(24);
  sa.writeUInt32LE(24, 0);
  sa.writeUInt32LE(1, 16);
  const r = Buffer.alloc(8);
  const wr = Buffer.alloc(8);
  if (!w.CreatePipe(r, wr, sa, 0)) return undefined;
  return { read: r.readBigUInt64LE(0), write: wr.readBigUInt64LE(0) };
}

/** Closes every handle given that is not NULL / INVALID_HANDLE_VALUE. */

/** STARTUPINFOW on x64 (104 bytes): cb @0; lpDesktop @16; dwFlags @60; wShowWindow @64; hStdInput @80; hStdOutput @88; hStdError @96. */
function startupInfo(stdin: bigint, stdout: bigint, stderr: bigint, desktop: Buffer | null): Buffer {
  const si = Buffer.alloc(104);
  si.writeUInt32LE(104, 0);
  if (desktop) si.writeBigUInt64LE(addressOf(desktop), 16);
  si.writeUInt32LE(STARTF_USESTDHANDLES | STARTF_USESHOWWINDOW, 60);
  si.writeUInt16LE(0, 64); // SW_HIDE
  si.writeBigUInt64LE(stdin, 80);
  si.writeBigUInt64LE(stdout, 88);
  si.writeBigUInt64LE(stderr, 96);
  return si;
}

export interface UserContext {
  token: bigint;
  env: bigint;
  account: string;
}

/** The logged-on user's token and environment block in `sessionId` (the caller frees both). */
export function userContext(sessionId: number): Result<UserContext> {
  const w = win32();
  const tok = Buffer.alloc(8);
  if (!w.WTSQueryUserToken(sessionId, tok)) {
    const e = lastErrorText('WTSQueryUserToken');
    if (e.code === ERROR_PRIVILEGE_NOT_HELD || e.code === ERROR_ACCESS_DENIED) {
      return err('AGENT_NOT_ELEVATED', `${e.text}: running as a session's user needs the agent to run as SYSTEM`);
    }
    return err('SESSION_NOT_FOUND', `${e.text}: no logged-on user in session ${sessionId}`);
  }
  const token = tok.readBigUInt64LE(0);
  const envOut = Buffer.alloc(8);
  // The user's own environment (USERPROFILE, TEMP, ...); fall back to the agent's when userenv fails.
  const env = w.CreateEnvironmentBlock(envOut, token, false) ? envOut.readBigUInt64LE(0) : 0n;
  return ok({ token, env, account: tokenAccount(token) });
}

/** Starts `req.commandText` in its shell; the caller decodes output with `encoding` and enforces policy. */
export function spawnProcess(req: SpawnRequest): Result<SpawnedProcess> {
  const w = win32();
  const paths = shellPaths();
  if (req.shell === guruconnect.Shell.SHELL_POWERSHELL && !existsSync(paths.powershell)) {
    return err('NOT_AVAILABLE', `powershell.exe is not installed here (${paths.powershell}): run the command with the cmd shell`);
  }
  const line = buildCommandLine(req.shell, req.commandText, paths);
  if (!line.ok) return line;
  const user = req.asSessionId !== 0 ? userContext(req.asSessionId) : undefined;
  if (user && !user.ok) return user;

  // Everything from CreatePipe to closing our copies of the child's ends runs in one synchronous
  // stretch: no other spawn can interleave, so no child inherits another command's pipe ends.
  const pipes = [createPipe(), createPipe(), createPipe()];
  const [inP, outP, errP] = pipes;
  const cleanupUser = () => {
    if (user?.ok) {
      if (user.value.env) w.DestroyEnvironmentBlock(user.value.env);
      closeAll(user.value.token);
    }
  };
  if (!inP || !outP || !errP) {
    for (const p of pipes) if (p) closeAll(p.read, p.write);
    cleanupUser();
    return err('PLATFORM_ERROR', lastErrorText('CreatePipe').text);
  }
  w.SetHandleInformation(outP.read, HANDLE_FLAG_INHERIT, 0);
  w.SetHandleInformation(errP.read, HANDLE_FLAG_INHERIT, 0);
  w.SetHandleInformation(inP.write, HANDLE_FLAG_INHERIT, 0);

  const desktop = user?.ok ? wide('winsta0\\default') : null;
  const si = startupInfo(inP.read, outP.write, errP.write, desktop);
  const pi = Buffer.alloc(24);
  const cmdLine = wide(line.value); // CreateProcessW may write into the command line: a private buffer.
  const flags = CREATE_NO_WINDOW | CREATE_SUSPENDED | (user?.ok && user.value.env ? CREATE_UNICODE_ENVIRONMENT : 0);
  const created = user?.ok
    ? w.CreateProcessAsUserW(user.value.token, null, cmdLine, null, null, true, flags, user.value.env || null, null, si, pi)
    : w.CreateProcessW(null, cmdLine, null, null, true, flags, null, null, si, pi);
  const createErr = created ? undefined : lastErrorText(user?.ok ? 'CreateProcessAsUserW' : 'CreateProcessW');
  // Our copies of the child's ends must go, or the read ends never report a broken pipe.
  closeAll(inP.read, outP.write, errP.write, inP.write);
  const runAsUser = user?.ok ? user.value.account : processAccount(w.GetCurrentProcess());
  cleanupUser();
  if (createErr) {
    closeAll(outP.read, errP.read);
    return err('PLATFORM_ERROR', createErr.text);
  }
  // Without the job a timeout could only kill cmd.exe, not what it started: refused then.
  const started = resumeInJob(pi);
  if (!started.ok) {
    closeAll(outP.read, errP.read);
    return started;
  }
  const { pid, hProcess, job } = started.value;
  return ok(startedProcess(pid, hProcess, job, outP.read, errP.read, runAsUser));
}

function startedProcess(pid: number, hProcess: bigint, job: bigint | undefined, outRead: bigint, errRead: bigint, runAsUser: string): SpawnedProcess {
  const w = win32();
  const cp = w.GetOEMCP() as number;
  const enc = outputEncodingFor(cp);
  const listeners: ((stream: 'stdout' | 'stderr', bytes: Uint8Array) => void)[] = [];
  const pending: ['stdout' | 'stderr', Uint8Array][] = [];
  const emit = (stream: 'stdout' | 'stderr', raw: Uint8Array) => {
    const bytes = enc.transcode ? transcodeToUtf8(raw, cp) : raw;
    if (listeners.length === 0) pending.push([stream, bytes]);
    for (const l of listeners) l(stream, bytes);
  };
  const open = new Map<'stdout' | 'stderr', bigint>([
    ['stdout', outRead],
    ['stderr', errRead],
  ]);
  const avail = Buffer.alloc(4);
  const got = Buffer.alloc(4);
  const chunk = Buffer.alloc(64 * 1024);
  /** Reads what is waiting on each pipe; true when anything arrived. */
  const drain = (): boolean => {
    let any = false;
    for (const [stream, h] of open) {
      if (!w.PeekNamedPipe(h, null, 0, null, avail, null)) {
        // ERROR_BROKEN_PIPE (every writer closed, all data read) or a dead handle: this pipe is done.
        closeAll(h);
        open.delete(stream);
        continue;
      }
      let n = avail.readUInt32LE(0);
      while (n > 0 && w.ReadFile(h, chunk, Math.min(n, chunk.length), got, null)) {
        const r = got.readUInt32LE(0);
        if (r === 0) break;
        emit(stream, Uint8Array.prototype.slice.call(chunk, 0, r));
        any = true;
        n -= r;
      }
    }
    return any;
  };
  let killed = false;
  let done = false;
  const exited = (async () => {
    let idle = 0;
    for (;;) {
      const any = drain();
      if (open.size === 0 && w.WaitForSingleObject(hProcess, 0) === WAIT_OBJECT_0) break;
      idle = any ? 0 : idle + 1;
      await sleep(idle < 20 ? POLL_FAST_MS : POLL_SLOW_MS);
    }
    const code = Buffer.alloc(4);
    const exitCode = w.GetExitCodeProcess(hProcess, code) ? code.readInt32LE(0) : -1;
    closeAll(hProcess);
    // Closing a kill-on-close job ends anything the command left running in the background.
    if (job !== undefined) closeAll(job);
    job = undefined;
    done = true;
    return { exitCode };
  })();
  return {
    pid,
    encoding: enc.label,
    runAsUser,
    onData(cb) {
      listeners.push(cb);
      for (const [s, b] of pending.splice(0)) cb(s, b);
    },
    exited,
    async killTree() {
      if (!killed && !done) {
        if (job !== undefined) w.TerminateJobObject(job, 1);
        else w.TerminateProcess(hProcess, 1);
      }
      killed = true;
      await exited;
    },
  };
}
