/** The process list from /proc; processes that vanish mid-read are left out, never an error. */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { ProcessInfo } from '../port.js';
import { listPidsSync, readProcessRow, readStatSync } from './process-read.js';
import { createUserNames } from './process-users.js';

/** USER_HZ: fixed at 100 on every Linux ABI node runs on. */
const CLOCK_TICKS_PER_SEC = 100;
/** Reads are synchronous (far cheaper than the thread pool); this many pids between turns of the event loop keeps a pause to a few ms. */
const PIDS_PER_TURN = 128;

export interface ProcessListOptions {
  /** Where /proc is (tests point it at a hand-built tree). */
  procRoot?: string;
  passwdPath?: string;
}

/**
 * A process lister for one host. With `cpuSampleMs` > 0, cpuPercent is each process's share of the
 * whole machine (all cores, as Windows Task Manager shows it) over that interval; otherwise -1 and
 * no second pass.
 */
export function createProcessLister(o: ProcessListOptions = {}) {
  const procRoot = o.procRoot ?? '/proc';
  const users = createUserNames(o.passwdPath);
  return async function listLinuxProcesses(opts: { cpuSampleMs: number }): Promise<ProcessInfo[]> {
    let before: Map<number, number> | undefined;
    let t0 = 0;
    if (opts.cpuSampleMs > 0) {
      t0 = performance.now();
      before = await cpuTicksByPid(procRoot);
      await new Promise((r) => setTimeout(r, opts.cpuSampleMs));
    }
    const elapsedSecs = (performance.now() - t0) / 1000;
    const cores = availableParallelism();
    const names = users.current();
    const pids = listPidsSync(procRoot);
    const out: ProcessInfo[] = [];
    for (let i = 0; i < pids.length; i++) {
      if (i > 0 && i % PIDS_PER_TURN === 0) await yieldToLoop();
      const pid = pids[i]!;
      const row = readProcessRow(procRoot, pid);
      if (!row) continue;
      out.push({
        pid,
        name: row.stat.comm,
        user: names.nameOf(row.uid),
        memoryKb: row.rssKb,
        parentPid: row.stat.ppid,
        sessionId: 0,
        cpuPercent: before ? cpuPercent(pid, row.stat.cpuTicks, before, elapsedSecs, cores) : -1,
        commandLine: row.commandLine,
      });
    }
    return out;
  };
}

async function cpuTicksByPid(procRoot: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const pids = listPidsSync(procRoot);
  for (let i = 0; i < pids.length; i++) {
    if (i > 0 && i % PIDS_PER_TURN === 0) await yieldToLoop();
    const st = readStatSync(procRoot, pids[i]!);
    if (st) out.set(st.pid, st.cpuTicks);
  }
  return out;
}

function cpuPercent(pid: number, ticksNow: number, before: Map<number, number>, elapsedSecs: number, cores: number): number {
  if (elapsedSecs <= 0) return -1;
  // A process born during the sample has no baseline: count its whole life as this interval's.
  const ticks = ticksNow - (before.get(pid) ?? 0);
  const pct = (ticks / CLOCK_TICKS_PER_SEC / elapsedSecs / cores) * 100;
  return Math.min(100, Math.max(0, Math.round(pct * 10) / 10));
}
