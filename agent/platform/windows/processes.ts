/** Processes: Toolhelp snapshot, owner, working set, session, sampled CPU; and ending a process. */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Result, err, ok } from '../../../proto/errors.js';
import type { ControlResult, ProcessInfo } from '../port.js';
import { PROCESSENTRY32W_SIZE, type ProcessEntry, cpuPercent, decodeProcessEntry, fileTimeTicks } from './process-records.js';
import { processAccount } from './tokens.js';
import { badHandle, lastErrorText, win32 } from './win32-api.js';

const TH32CS_SNAPPROCESS = 0x2;
const PROCESS_TERMINATE = 0x1;
const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const PROCESS_VM_READ = 0x10;
const ERROR_ACCESS_DENIED = 5;
const ERROR_INVALID_PARAMETER = 87;
/** PROCESS_MEMORY_COUNTERS on x64: DWORD cb; DWORD PageFaultCount; SIZE_T PeakWorkingSetSize @8; WorkingSetSize @16; ... 72 bytes. */
const PMC_SIZE = 72;

/** The Toolhelp process snapshot. */
function snapshotProcesses(): Result<ProcessEntry[]> {
  const w = win32();
  const snap = w.CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0) as bigint;
  if (badHandle(snap)) return err('PLATFORM_ERROR', lastErrorText('CreateToolhelp32Snapshot').text);
  try {
    const entry = Buffer.alloc(PROCESSENTRY32W_SIZE);
    entry.writeUInt32LE(PROCESSENTRY32W_SIZE, 0);
    const out: ProcessEntry[] = [];
    for (let more = w.Process32FirstW(snap, entry); more; more = w.Process32NextW(snap, entry)) {
      out.push(decodeProcessEntry(entry));
    }
    return ok(out);
  } finally {
    w.CloseHandle(snap);
  }
}

interface Detail {
  user: string;
  memoryKb: number;
  sessionId: number;
  cpuTicks: bigint;
}

function processDetail(pid: number): Detail {
  const w = win32();
  const session = Buffer.alloc(4);
  const sessionId = w.ProcessIdToSessionId(pid, session) ? session.readUInt32LE(0) : 0;
  const d: Detail = { user: '', memoryKb: 0, sessionId, cpuTicks: -1n };
  // The System Idle Process (pid 0) cannot be opened; its row stays with defaults.
  if (pid === 0) return d;
  let h = w.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_VM_READ, false, pid) as bigint;
  if (badHandle(h)) h = w.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, false, pid) as bigint;
  if (badHandle(h)) return d;
  try {
    d.user = processAccount(h);
    const pmc = Buffer.alloc(PMC_SIZE);
    pmc.writeUInt32LE(PMC_SIZE, 0);
    if (w.K32GetProcessMemoryInfo(h, pmc, PMC_SIZE)) d.memoryKb = Number(pmc.readBigUInt64LE(16) / 1024n);
    const t = Buffer.alloc(32);
    if (w.GetProcessTimes(h, t.subarray(0, 8), t.subarray(8, 16), t.subarray(16, 24), t.subarray(24, 32))) {
      d.cpuTicks = fileTimeTicks(t, 16) + fileTimeTicks(t, 24);
    }
  } finally {
    w.CloseHandle(h);
  }
  return d;
}

/** All processes; with `cpuSampleMs` > 0 CPU is sampled over that interval via GetProcessTimes. */
export async function listProcesses(opts: { cpuSampleMs: number }): Promise<Result<ProcessInfo[]>> {
  const first = snapshotProcesses();
  if (!first.ok) return first;
  let before: Map<number, bigint> | undefined;
  let started = 0;
  if (opts.cpuSampleMs > 0) {
    before = new Map(first.value.map((p) => [p.pid, processDetail(p.pid).cpuTicks]));
    started = performance.now();
    await sleep(opts.cpuSampleMs);
  }
  const snap = before ? snapshotProcesses() : first;
  if (!snap.ok) return snap;
  const elapsed = performance.now() - started;
  const cpus = availableParallelism();
  return ok(
    snap.value.map((p): ProcessInfo => {
      const d = processDetail(p.pid);
      const t0 = before?.get(p.pid);
      const cpu = !before ? -1 : t0 === undefined || t0 < 0n || d.cpuTicks < 0n ? 0 : cpuPercent(t0, d.cpuTicks, elapsed, cpus);
      return {
        pid: p.pid,
        name: p.exeFile,
        user: d.user,
        memoryKb: d.memoryKb,
        parentPid: p.parentPid,
        sessionId: d.sessionId,
        cpuPercent: cpu,
        // Reading another process's command line needs its PEB (NtQueryInformationProcess); not done yet.
        commandLine: '',
      };
    }),
  );
}

/** Ends one process (TerminateProcess, exit code 1). Its children are not touched. */
export function killProcess(pid: number): Result<ControlResult> {
  const w = win32();
  const target = String(pid);
  const h = w.OpenProcess(PROCESS_TERMINATE, false, pid) as bigint;
  if (badHandle(h)) {
    const e = lastErrorText('OpenProcess');
    if (e.code === ERROR_INVALID_PARAMETER) return err('NOT_FOUND', `no process with pid ${pid}`);
    if (e.code === ERROR_ACCESS_DENIED) return err('AGENT_NOT_ELEVATED', `${e.text}: not allowed to end pid ${pid}`);
    return err('PLATFORM_ERROR', e.text);
  }
  try {
    if (!w.TerminateProcess(h, 1)) return ok({ ok: false, target, action: 'kill', detail: lastErrorText('TerminateProcess').text });
    return ok({ ok: true, target, action: 'kill', detail: 'terminated' });
  } finally {
    w.CloseHandle(h);
  }
}
