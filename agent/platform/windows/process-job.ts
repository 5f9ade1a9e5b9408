/**
 * Every process the Windows backend starts (commands, ConPTY shells, session helpers) is created
 * suspended, put in a kill-on-close Job object and only then resumed, so nothing it starts can
 * escape the tree that a timeout, a closed terminal or a dying agent ends.
 */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import { badHandle, lastErrorText, win32 } from './win32-api.js';

const JobObjectExtendedLimitInformation = 9;
const JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x2000;

/** Closes every handle given that is set and valid. */
export function closeAll(...handles: (bigint | undefined)[]): void {
  for (const h of handles) if (h !== undefined && !badHandle(h)) win32().CloseHandle(h);
}

/** A Job object whose processes die when it is closed. JOBOBJECT_EXTENDED_LIMIT_INFORMATION (144 bytes): BasicLimitInformation.LimitFlags @16. */
function createKillOnCloseJob(): bigint | undefined {
  const w = win32();
  const job = w.CreateJobObjectW(null, null) as bigint;
  if (badHandle(job)) return undefined;
  const info = Buffer.alloc(144);
  info.writeUInt32LE(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, 16);
  // Best effort: without it the tree still dies on TerminateJobObject, just not if the agent itself dies.
  w.SetInformationJobObject(job, JobObjectExtendedLimitInformation, info, 144);
  return job;
}

export interface StartedInJob {
  pid: number;
  hProcess: bigint;
  /** undefined only where Job objects cannot be made at all. */
  job: bigint | undefined;
}

/**
 * Takes a process created with CREATE_SUSPENDED (its PROCESS_INFORMATION, 24 bytes on x64: hProcess
 * @0, hThread @8, dwProcessId @16) into a kill-on-close job and resumes it. A process that cannot
 * join the job is terminated and refused: it could outlive whatever is meant to end it.
 */
export function resumeInJob(pi: Buffer): Result<StartedInJob> {
  const w = win32();
  const hProcess = pi.readBigUInt64LE(0);
  const hThread = pi.readBigUInt64LE(8);
  const job = createKillOnCloseJob();
  if (job !== undefined && !w.AssignProcessToJobObject(job, hProcess)) {
    const e = lastErrorText('AssignProcessToJobObject');
    w.TerminateProcess(hProcess, 1);
    closeAll(hThread, hProcess, job);
    return err(ErrorCode.PLATFORM_ERROR, e.text);
  }
  w.ResumeThread(hThread);
  closeAll(hThread);
  return ok({ pid: pi.readUInt32LE(16), hProcess, job });
}
