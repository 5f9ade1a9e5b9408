/** Pure decoding of process records (x64 layouts) and CPU arithmetic, testable on any platform. */
import { readWideIn } from './utf16.js';

/**
 * PROCESSENTRY32W on x64: DWORD dwSize @0; cntUsage @4; th32ProcessID @8; pad; ULONG_PTR
 * th32DefaultHeapID @16; DWORD th32ModuleID @24; cntThreads @28; th32ParentProcessID @32;
 * LONG pcPriClassBase @36; DWORD dwFlags @40; WCHAR szExeFile[260] @44; padded to 568.
 */
export const PROCESSENTRY32W_SIZE = 568;

export interface ProcessEntry {
  pid: number;
  parentPid: number;
  threads: number;
  exeFile: string;
}

/** One PROCESSENTRY32W. */
export function decodeProcessEntry(buf: Buffer): ProcessEntry {
  return {
    pid: buf.readUInt32LE(8),
    threads: buf.readUInt32LE(28),
    parentPid: buf.readUInt32LE(32),
    exeFile: readWideIn(buf, 44, 260),
  };
}

/** FILETIME (two DWORDs, low first) as 100 ns ticks. */
export function fileTimeTicks(buf: Buffer, offset = 0): bigint {
  return buf.readBigUInt64LE(offset);
}

/** CPU percent of one process over a sample, normalised to all CPUs (Task Manager's convention). */
export function cpuPercent(ticksBefore: bigint, ticksAfter: bigint, elapsedMs: number, cpus: number): number {
  if (elapsedMs <= 0 || cpus <= 0 || ticksAfter < ticksBefore) return 0;
  const busyMs = Number(ticksAfter - ticksBefore) / 10_000;
  return Math.round((busyMs / (elapsedMs * cpus)) * 1000) / 10;
}
