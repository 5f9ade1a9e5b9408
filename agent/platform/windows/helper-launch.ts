/**
 * Starts the session helper inside a session: the agent's own token (SYSTEM, when it runs as the
 * service) duplicated, its TokenSessionId set to the target session, CreateProcessAsUserW on
 * `winsta0\default` there, stdin and stdout as anonymous pipes to the agent, stderr to NUL, in a
 * kill-on-close Job object so the helper cannot outlive the agent. A SYSTEM token rather than the
 * user's (WTSQueryUserToken) is what lets the helper follow the input desktop to the lock screen and
 * UAC prompts, as remote-support agents do; changing a token's session needs SeTcbPrivilege, which
 * only SYSTEM holds.
 */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import { commandLine } from './helper-command-line.js';
import { wide } from './utf16.js';
import { closeAll, resumeInJob } from './process-job.js';
import { addressOf, badHandle, lastErrorText, win32 } from './win32-api.js';

const TOKEN_ASSIGN_PRIMARY = 0x1;
const TOKEN_DUPLICATE = 0x2;
const TOKEN_QUERY = 0x8;
const TOKEN_ADJUST_DEFAULT = 0x80;
const TOKEN_ADJUST_SESSIONID = 0x100;
const MAXIMUM_ALLOWED = 0x02000000;
const SecurityImpersonation = 2;
const TokenPrimary = 1;
const TokenSessionId = 12;
const ERROR_PRIVILEGE_NOT_HELD = 1314;
const ERROR_ACCESS_DENIED = 5;
const HANDLE_FLAG_INHERIT = 0x1;
const STARTF_USESHOWWINDOW = 0x1;
const STARTF_USESTDHANDLES = 0x100;
const CREATE_SUSPENDED = 0x4;
const CREATE_NO_WINDOW = 0x08000000;
const GENERIC_WRITE = 0x40000000;
const FILE_SHARE_READ_WRITE = 0x3;
const OPEN_EXISTING = 3;
/** Pipe buffer sizes asked for: frames are large, input messages small. */
const FRAME_PIPE_BYTES = 1 << 20;
const INPUT_PIPE_BYTES = 64 << 10;

export interface LaunchedHelper {
  pid: number;
  process: bigint;
  /** Kill-on-close job holding the helper (undefined if Windows refused one). */
  job: bigint | undefined;
  /** The helper's stdin (we write). */
  toHelper: bigint;
  /** The helper's stdout (we read). */
  fromHelper: bigint;
}

export interface LaunchOptions {
  /** node.exe (default: this process's own). */
  program?: string;
  /** Arguments after the program (helper-command-line.ts builds the default). */
  args: string[];
}

/** SECURITY_ATTRIBUTES (24 bytes) with bInheritHandle set: nLength @0, lpSecurityDescriptor @8, bInheritHandle @16. */
function inheritable(): Buffer {
  const sa = Buffer.alloc(24);
  sa.writeUInt32LE(24, 0);
  sa.writeUInt32LE(1, 16);
  return sa;
}

/** A pipe whose `childEnd` the helper inherits; our end is not inheritable. */
function pipe(size: number, childReads: boolean): { ours: bigint; childEnd: bigint } | undefined {
  const w = win32();
  const r = Buffer.alloc(8);
  const wr = Buffer.alloc(8);
  if (!w.CreatePipe(r, wr, inheritable(), size)) return undefined;
  const read = r.readBigUInt64LE(0);
  const write = wr.readBigUInt64LE(0);
  const ours = childReads ? write : read;
  w.SetHandleInformation(ours, HANDLE_FLAG_INHERIT, 0);
  return { ours, childEnd: childReads ? read : write };
}

/** The agent's own token as a primary token placed in `sessionId`. */
function tokenForSession(sessionId: number): Result<bigint> {
  const w = win32();
  const own = Buffer.alloc(8);
  const access = TOKEN_ASSIGN_PRIMARY | TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ADJUST_DEFAULT | TOKEN_ADJUST_SESSIONID;
  if (!w.OpenProcessToken(w.GetCurrentProcess(), access, own)) return err(ErrorCode.PLATFORM_ERROR, lastErrorText('OpenProcessToken').text);
  const ownToken = own.readBigUInt64LE(0);
  try {
    const dup = Buffer.alloc(8);
    if (!w.DuplicateTokenEx(ownToken, MAXIMUM_ALLOWED, null, SecurityImpersonation, TokenPrimary, dup)) {
      return err(ErrorCode.PLATFORM_ERROR, lastErrorText('DuplicateTokenEx').text);
    }
    const token = dup.readBigUInt64LE(0);
    const id = Buffer.alloc(4);
    id.writeUInt32LE(sessionId >>> 0, 0);
    if (!w.SetTokenInformation(token, TokenSessionId, id, 4)) {
      const e = lastErrorText('SetTokenInformation(TokenSessionId)');
      closeAll(token);
      if (e.code === ERROR_PRIVILEGE_NOT_HELD || e.code === ERROR_ACCESS_DENIED) {
        return err(ErrorCode.AGENT_NOT_ELEVATED, `${e.text}: capturing another session needs the agent to run as SYSTEM (the service)`);
      }
      return err(ErrorCode.PLATFORM_ERROR, e.text);
    }
    return ok(token);
  } finally {
    closeAll(ownToken);
  }
}

/** Starts the helper in `sessionId`; the caller owns every handle returned. */
export function launchSessionHelper(sessionId: number, opts: LaunchOptions): Result<LaunchedHelper> {
  const w = win32();
  const token = tokenForSession(sessionId);
  if (!token.ok) return token;
  // From the first pipe to closing the child's ends: one synchronous stretch, so no other process
  // the agent starts meanwhile can inherit these handles.
  const stdin = pipe(INPUT_PIPE_BYTES, true);
  const stdout = pipe(FRAME_PIPE_BYTES, false);
  const nul = w.CreateFileW(wide('NUL'), GENERIC_WRITE, FILE_SHARE_READ_WRITE, inheritable(), OPEN_EXISTING, 0, null) as bigint;
  const cleanup = () => closeAll(token.value, stdin?.childEnd, stdout?.childEnd, badHandle(nul) ? undefined : nul);
  if (!stdin || !stdout) {
    const e = lastErrorText('CreatePipe').text;
    cleanup();
    closeAll(stdin?.ours, stdout?.ours);
    return err(ErrorCode.PLATFORM_ERROR, e);
  }
  const program = opts.program ?? process.execPath;
  const desktop = wide('winsta0\\default');
  // STARTUPINFOW (104 bytes): cb @0; lpDesktop @16; dwFlags @60; wShowWindow @64; hStdInput @80; hStdOutput @88; hStdError @96.
  const si = Buffer.alloc(104);
  si.writeUInt32LE(104, 0);
  si.writeBigUInt64LE(addressOf(desktop), 16);
  si.writeUInt32LE(STARTF_USESTDHANDLES | STARTF_USESHOWWINDOW, 60);
  si.writeBigUInt64LE(stdin.childEnd, 80);
  si.writeBigUInt64LE(stdout.childEnd, 88);
  si.writeBigUInt64LE(badHandle(nul) ? 0n : nul, 96);
  const pi = Buffer.alloc(24);
  const cmd = wide(commandLine(program, opts.args)); // CreateProcess may write into it: a private buffer
  const created = w.CreateProcessAsUserW(token.value, wide(program), cmd, null, null, true, CREATE_NO_WINDOW | CREATE_SUSPENDED, null, null, si, pi);
  const createErr = created ? undefined : lastErrorText('CreateProcessAsUserW');
  cleanup();
  if (createErr) {
    closeAll(stdin.ours, stdout.ours);
    return err(ErrorCode.PLATFORM_ERROR, `${createErr.text} starting ${program}`);
  }
  // Without the job the helper could outlive a crashed agent: refused then.
  const started = resumeInJob(pi);
  if (!started.ok) {
    closeAll(stdin.ours, stdout.ours);
    return started;
  }
  const { pid, hProcess, job } = started.value;
  return ok({ pid, process: hProcess, job, toHelper: stdin.ours, fromHelper: stdout.ours });
}
