/** The process list from /proc; processes that vanish mid-read are left out, never an error. */
import { availableParallelism } from 'node:os';
import type { ProcessInfo } from '../port.js';
import { readAccounts, userNameOf } from './passwd.js';
import { type ProcStat, listPids, readAllStats, readCmdline, readStat, readStatus } from './procfs.js';

/** USER_HZ: fixed at 100 on every Linux ABI node runs on. */
const CLOCK_TICKS_PER_SEC = 100;

/**
 * Every process. With `cpuSampleMs` > 0, cpuPercent is its share of the whole machine (all cores,
 * as Windows Task Manager shows it) over that interval; otherwise -1.
 */
export async function listLinuxProcesses(opts: { cpuSampleMs: number }): Promise<ProcessInfo[]> {
  let before: Map<number, number> | undefined;
  let t0 = 0;
  if (opts.cpuSampleMs > 0) {
    t0 = performance.now();
    before = new Map((await readAllStats()).map((s) => [s.pid, s.cpuTicks]));
    await new Promise((r) => setTimeout(r, opts.cpuSampleMs));
  }
  const elapsedSecs = (performance.now() - t0) / 1000;
  const cores = availableParallelism();
  const [{ byUid }, pids] = await Promise.all([readAccounts(), listPids()]);
  const rows = await Promise.all(
    pids.map(async (pid): Promise<ProcessInfo | undefined> => {
      const [st, status, argv] = await Promise.all([readStat(pid), readStatus(pid), readCmdline(pid)]);
      if (!st || !status) return undefined;
      return {
        pid,
        name: st.comm,
        user: userNameOf(byUid, status.uid),
        memoryKb: status.rssKb,
        parentPid: st.ppid,
        sessionId: 0,
        cpuPercent: cpuPercent(st, before, elapsedSecs, cores),
        commandLine: argv.join(' '),
      };
    }),
  );
  return rows.filter((r): r is ProcessInfo => r !== undefined);
}

function cpuPercent(st: ProcStat, before: Map<number, number> | undefined, elapsedSecs: number, cores: number): number {
  if (!before || elapsedSecs <= 0) return -1;
  // A process born during the sample has no baseline: count its whole life as this interval's.
  const ticks = st.cpuTicks - (before.get(st.pid) ?? 0);
  const pct = (ticks / CLOCK_TICKS_PER_SEC / elapsedSecs / cores) * 100;
  return Math.max(0, Math.round(pct * 10) / 10);
}
