/** Reading /proc: every read may fail because the process vanished meanwhile; they return undefined. */
import { open, readdir } from 'node:fs/promises';

/**
 * A /proc file's text. Not fs.readFile: /proc files report size 0, so readFile gives each one a
 * 64 KiB buffer — hundreds of processes read at once every poll made ~14 MiB of short-lived buffers
 * that the allocator kept resident. Reads 4 KiB at a time instead; at most `maxBytes`.
 */
async function readProcFile(path: string, maxBytes = 1 << 20): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(4096);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total >= maxBytes) break;
    }
    return Buffer.concat(chunks, Math.min(total, maxBytes)).toString('utf8');
  } finally {
    await fh.close();
  }
}

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** The kernel's PF_* flags (PF_KTHREAD marks a kernel thread). */
  flags: number;
}

/** Numeric entries of /proc. */
async function listPids(): Promise<number[]> {
  const names = await readdir('/proc');
  return names.filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Parses /proc/<pid>/stat text; comm may hold spaces and parentheses, so split at the last ')'. */
export function parseStat(pid: number, text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // Fields after comm start at field 3 (state); index i here is field i + 3.
  const f = text.slice(close + 2).split(' ');
  const n = (i: number) => Number(f[i] ?? 0);
  return { pid, comm: text.slice(open + 1, close), state: f[0] ?? '?', ppid: n(1), pgrp: n(2), session: n(3), flags: n(6), cpuTicks: n(11) + n(12) };
}

export async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseStat(pid, await readProcFile(`/proc/${pid}/stat`));
  } catch {
    return undefined;
  }
}

/** Whether the environment of `pid` holds exactly `entry` ("NAME=value"). */
export async function environHas(pid: number, entry: string): Promise<boolean> {
  try {
    const raw = await readProcFile(`/proc/${pid}/environ`);
    return raw.split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Stats of every live process, read in parallel. */
export async function readAllStats(): Promise<ProcStat[]> {
  const stats = await Promise.all((await listPids()).map(readStat));
  return stats.filter((s): s is ProcStat => s !== undefined);
}
