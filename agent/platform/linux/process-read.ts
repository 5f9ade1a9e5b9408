/**
 * One process's rows from /proc, read synchronously into one reused buffer: open, read, close per
 * file and no allocation but the decoded text. The async fs path cost a thread-pool round trip per
 * call (four per file) and a fresh buffer per read; for a list of every process that was most of its time.
 */
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';
import { type ProcStat, parseStat } from './procfs.js';

/** Longest command line kept: enough for any display, and 1,000 Java-sized ones still fit one NATS message. */
export const COMMAND_LINE_MAX_BYTES = 4096;
/** stat and status stay far below this; a longer read is cut, never grown. */
const FILE_MAX_BYTES = 16 * 1024;
const scratch = Buffer.allocUnsafe(FILE_MAX_BYTES);

/** Bytes of a /proc file into the shared buffer, or -1 when it cannot be read (the process is gone). */
function readInto(path: string, max: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return -1;
  }
  try {
    let total = 0;
    // /proc files report size 0 and may need several reads; stop at `max`.
    for (;;) {
      const n = readSync(fd, scratch, total, max - total, null);
      if (n === 0) return total;
      total += n;
      if (total >= max) return total;
    }
  } catch {
    // ESRCH: the process exited between open and read.
    return -1;
  } finally {
    closeSync(fd);
  }
}

function readText(path: string, max = FILE_MAX_BYTES): string | undefined {
  const n = readInto(path, max);
  return n < 0 ? undefined : scratch.toString('utf8', 0, n);
}

/** Numeric entries of `procRoot` (a pid's directory name is its decimal pid). */
export function listPidsSync(procRoot: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync(procRoot)) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57 && /^\d+$/.test(n)) out.push(Number(n));
  }
  return out;
}

export function readStatSync(procRoot: string, pid: number): ProcStat | undefined {
  const text = readText(`${procRoot}/${pid}/stat`);
  return text === undefined ? undefined : parseStat(pid, text);
}

/** The number after `key` at a line start of status text ("Uid:\t1000\t..."), or `fallback`. */
function statusField(text: string, key: string, fallback: number): number {
  let at = 0;
  if (!text.startsWith(key)) {
    const i = text.indexOf(`\n${key}`);
    if (i < 0) return fallback;
    at = i + 1;
  }
  const m = /^\s*(\d+)/.exec(text.slice(at + key.length, at + key.length + 32));
  return m ? Number(m[1]) : fallback;
}

/** Parses /proc/<pid>/status: real uid (-1 when absent) and VmRSS in kB (0 for kernel threads). */
export function parseStatus(text: string): { uid: number; rssKb: number } {
  // The kernel escapes a newline in Name: as "\n", so a line start is always a real field.
  return { uid: statusField(text, 'Uid:', -1), rssKb: statusField(text, 'VmRSS:', 0) };
}

export interface ProcessRow {
  stat: ProcStat;
  uid: number;
  rssKb: number;
  commandLine: string;
}

/** PF_KTHREAD (include/linux/sched.h): a kernel thread, with no user memory, no argv and uid 0. */
const PF_KTHREAD = 0x00200000;

/** The row of one pid, or undefined when it vanished while being read. */
export function readProcessRow(procRoot: string, pid: number): ProcessRow | undefined {
  const stat = readStatSync(procRoot, pid);
  if (!stat) return undefined;
  // Often a third of a host's pids: two reads each saved, the answer the same.
  if (stat.flags & PF_KTHREAD) return { stat, uid: 0, rssKb: 0, commandLine: '' };
  const status = readText(`${procRoot}/${pid}/status`);
  if (status === undefined) return undefined;
  const { uid, rssKb } = parseStatus(status);
  const n = readInto(`${procRoot}/${pid}/cmdline`, COMMAND_LINE_MAX_BYTES);
  // argv is NUL-separated with a trailing NUL; a kernel thread's is empty.
  let end = n;
  while (end > 0 && scratch[end - 1] === 0) end--;
  const commandLine = end > 0 ? scratch.toString('utf8', 0, end).replaceAll('\0', ' ') : '';
  return { stat, uid, rssKb, commandLine };
}

/**
 * argv of a process ([] for kernel threads or vanished processes), read into the shared buffer: when
 * the session poll must scan every process (x-servers.ts), a fresh buffer per process left 0.4-1.9
 * MiB of ArrayBuffers to collect at each poll of an idle agent.
 */
export function readCmdlineSync(procRoot: string, pid: number): string[] {
  const n = readInto(`${procRoot}/${pid}/cmdline`, FILE_MAX_BYTES);
  if (n <= 0) return [];
  const parts = scratch.toString('utf8', 0, n).split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}
