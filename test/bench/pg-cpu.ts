/**
 * CPU time spent by a private PostgreSQL cluster (postmaster, backends, autovacuum, WAL writer), from
 * /proc. On a shared machine wall-clock rates swing with the neighbours' load; the CPU a piece of work
 * costs the server barely does, so it is the steadier figure for comparing table layouts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime. */
function stat(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** A meter of the cluster `db` talks to, or undefined when its processes are not ours to read (another host, no /proc). */
export async function pgCpuMeter(db: Kysely<Database>): Promise<(() => number) | undefined> {
  const backend = Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]?.pid);
  const postmaster = Number(stat(backend)?.[1]);
  if (!postmaster || !stat(postmaster)) return undefined;
  /** Milliseconds of CPU so far: the postmaster's own and its reaped children's, plus every live child's. */
  return () => {
    const pm = stat(postmaster);
    if (!pm) return Number.NaN;
    let ticks = Number(pm[11]) + Number(pm[12]) + Number(pm[13]) + Number(pm[14]);
    for (const d of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(d)) continue;
      const f = stat(Number(d));
      if (f && Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
    }
    return ticks * TICK_MS;
  };
}
