/** `audit replay`: the audit log computed from JetStream, filtered, as a table or JSON lines. */
import { parseArgs } from 'node:util';
import { type AuditFilter, followAudit, matchesFilter, replayAudit } from '../audit/replay.js';
import type { ChainedAuditRow } from '../audit/audit-types.js';
import { progressBar } from '../runtime/progress.js';
import { quarantinedAudit } from '../audit/audit-quarantine.js';
import { cliDb, cliDeps } from './env.js';

function parseTime(v: string | undefined): Date | undefined | string {
  if (v === undefined) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? `not a time: ${v} (use ISO 8601, e.g. 2025-01-31T12:00:00Z)` : d;
}

/** Filter from argv, or an error message. */
export function replayFilter(argv: string[]): { filter: AuditFilter; json: boolean; follow: boolean } | string {
  let p: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: argv,
      options: {
        agent: { type: 'string' },
        user: { type: 'string' },
        type: { type: 'string', multiple: true },
        since: { type: 'string' },
        until: { type: 'string' },
        json: { type: 'boolean' },
        follow: { type: 'boolean' },
      },
    });
  try {
    p = parse();
  } catch (e) {
    return (e as Error).message;
  }
  const since = parseTime(p.values.since);
  const until = parseTime(p.values.until);
  if (typeof since === 'string') return since;
  if (typeof until === 'string') return until;
  const types = (p.values.type ?? []).flatMap((t) => t.split(',')).filter(Boolean);
  return { filter: { agent: p.values.agent, user: p.values.user, types: types.length ? types : undefined, since, until }, json: p.values.json ?? false, follow: p.values.follow ?? false };
}

/** One aligned line per row (details as compact JSON). */
export function formatRow(r: ChainedAuditRow): string {
  return [
    String(r.seq).padStart(8),
    new Date(r.created_at).toISOString(),
    r.event_type.padEnd(26),
    (r.user_name ?? r.user_id ?? '-').padEnd(14),
    (r.agent_id ?? '-').padEnd(14),
    JSON.stringify(r.details),
  ].join('  ');
}

const header = `${'seq'.padStart(8)}  ${'time'.padEnd(24)}  ${'type'.padEnd(26)}  ${'user'.padEnd(14)}  ${'agent'.padEnd(14)}  details`;

/** CLI entry; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const f = replayFilter(argv);
  if (typeof f === 'string') {
    process.stderr.write(`${f}\nusage: audit replay [--agent A] [--user U] [--type T[,T]] [--since ISO] [--until ISO] [--json] [--follow]\n`);
    return 2;
  }
  const deps = await cliDeps('gc-audit-replay', false);
  if (typeof deps === 'string') {
    process.stderr.write(`${deps}\n`);
    return 2;
  }
  try {
    let bar: ReturnType<typeof progressBar> | undefined;
    // With Postgres at hand, quarantined events appear as the projection's stand-in rows.
    const pg = process.env.DATABASE_URL ? cliDb('gc-audit-replay') : undefined;
    const quarantined = pg && typeof pg !== 'string' ? await quarantinedAudit(pg.db).finally(() => pg.close()) : undefined;
    const print = (x: ChainedAuditRow) => process.stdout.write(`${f.json ? JSON.stringify(x) : formatRow(x)}\n`);
    if (f.follow) {
      // Every row from the first event on, then each new one as the stream grows, until Ctrl-C.
      if (!f.json) process.stdout.write(`${header}\n`);
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      await followAudit(deps.nc, { quarantined, api: deps.eventsApi, signal: stop.signal, onRow: (x) => matchesFilter(x, f.filter) && print(x) });
      return 0;
    }
    const r = await replayAudit(deps.nc, {
      quarantined,
      api: deps.eventsApi,
      onProgress: (seq, last) => {
        bar ??= progressBar('replay', last);
        bar.update(seq);
      },
    });
    bar?.finish();
    const rows = r.rows.filter((x) => matchesFilter(x, f.filter));
    if (!f.json) process.stdout.write(`${header}\n`);
    for (const x of rows) print(x);
    process.stderr.write(`${rows.length} of ${r.rows.length} audit rows from ${r.eventsRead} events (${r.undecodable} undecodable)\n`);
    return 0;
  } finally {
    await deps.close();
  }
}
