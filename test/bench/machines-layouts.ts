/**
 * `npx tsx test/bench/machines-layouts.ts`: the machines projection's catch-up (100k events, 1,000
 * agents, as in projection.bench.ts) into three table layouts side by side, in one run and in turns:
 * the key alone (before 0008), 0008's (list order btree, trigram index over host, agent id, OS and
 * users) and the live one (0009: heartbeats HOT, users' text in machines_search_users). Each layout
 * is a schema reached through search_path, as a rebuild does. Prints events/s, Postgres CPU (steadier
 * than wall clock on a shared machine) and HOT updates. A diagnostic, not part of `npm run bench`.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { ensureStreams } from '../../infra/bus/streams.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { connectBus } from '../../proto/bus/connect.js';
import { machinesProjection } from '../../projections/machines.projection.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import { startTestNats, startTestPostgres } from '../support/servers.js';
import { pgCpuMeter } from './pg-cpu.js';
import { agentEvent, publishMany } from './projection.bench.js';

const EVENTS = Number(process.env.GC_BENCH_PROJECTION_EVENTS ?? 100_000);
const ROUNDS = Number(process.env.GC_BENCH_ROUNDS ?? 3);
const POOL = 4;

/** Statements that give a fresh schema's `machines` (made like public's, key only) its layout. */
const layouts: Record<string, { schema?: string; ddl: string[] }> = {
  'key only (before 0008)': { schema: 'layout_key', ddl: [] },
  '0008 (users in the trigram index)': {
    schema: 'layout_0008',
    ddl: [
      `create function layout_0008.machines_search(hostname text, agent_id text, os_version text, users text[]) returns text
       language sql immutable parallel safe
       as $$ select hostname || chr(1) || agent_id || chr(1) || os_version || chr(1) || array_to_string(users, chr(1)) $$`,
      'create index on layout_0008.machines (hostname, agent_id)',
      'create index on layout_0008.machines using gin (layout_0008.machines_search(hostname, agent_id, os_version, users) gin_trgm_ops)',
    ],
  },
  '0009 (live schema)': { ddl: [] },
};

const nats = await startTestNats();
const pgs = await startTestPostgres();
const nc = await connectBus({ servers: nats.url, name: 'machines-layouts' });
const db = openDb({ url: pgs.url, max: POOL });
try {
  await ensureStreams(await jetstreamManager(nc));
  await migrateToLatest(db);
  const last = await publishMany(
    jetstream(nc),
    EVENTS,
    (i) => agentEvent(i),
    (m) => console.error(m),
  );
  const jsm = await jetstreamManager(nc);
  const cpu = (await pgCpuMeter(db)) ?? (() => Number.NaN);
  const pools = new Map<string, Kysely<Database>>();
  for (const [name, l] of Object.entries(layouts)) {
    if (!l.schema) {
      pools.set(name, db);
      continue;
    }
    await sql`create schema ${sql.id(l.schema)}`.execute(db);
    await sql`create table ${sql.id(l.schema, 'machines')} (like public.machines including defaults)`.execute(db);
    await sql`alter table ${sql.id(l.schema, 'machines')} add primary key (agent_id)`.execute(db);
    for (const s of l.ddl) await sql.raw(s).execute(db);
    const pool = new pg.Pool({ connectionString: pgs.url, max: POOL, options: `-c search_path=${l.schema},public` });
    pools.set(name, new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
  }
  const counts = async (k: Kysely<Database>, schema: string) => {
    // Every pooled backend reports its table statistics now, not up to a second later.
    await Promise.all(Array.from({ length: POOL }, () => k.transaction().execute((t) => sql`select pg_stat_force_next_flush(), pg_sleep(0.05)`.execute(t))));
    const r = await sql<{ upd: string; hot: string }>`select n_tup_upd as upd, n_tup_hot_upd as hot from pg_stat_user_tables where schemaname = ${schema} and relname = 'machines'`.execute(db);
    return { upd: Number(r.rows[0]?.upd ?? 0), hot: Number(r.rows[0]?.hot ?? 0) };
  };
  const results = new Map<string, { perSec: number; cpuMs: number; upd: number; hot: number }[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, l] of Object.entries(layouts)) {
      const k = pools.get(name)!;
      const schema = l.schema ?? 'public';
      await sql`truncate ${sql.table('machines')}`.execute(k);
      await db.deleteFrom('projection_checkpoints').where('name', '=', machinesProjection.name).execute();
      await jsm.consumers.delete('GC_EVENTS', machinesProjection.name).catch(() => {});
      const u0 = await counts(k, schema);
      const c0 = cpu();
      const t0 = performance.now();
      const w = await startProjection(machinesProjection, { nc, db: k });
      const ok = await w.caughtUp(last, 300_000);
      const ms = performance.now() - t0;
      const cpuMs = cpu() - c0;
      await w.stop();
      if (!ok) throw new Error(`${name}: no catch-up`);
      const u1 = await counts(k, schema);
      const r = { perSec: (last * 1000) / ms, cpuMs, upd: u1.upd - u0.upd, hot: u1.hot - u0.hot };
      results.set(name, [...(results.get(name) ?? []), r]);
      console.error(`round ${round} ${name}: ${Math.round(r.perSec)} events/s, Postgres CPU ${r.cpuMs} ms, ${r.hot} of ${r.upd} updates HOT`);
    }
  }
  for (const [name, rs] of results) {
    const best = Math.max(...rs.map((r) => r.perSec));
    console.log(`${name}: best ${Math.round(best)} events/s; Postgres CPU ${rs.map((r) => r.cpuMs).join(' / ')} ms; HOT ${rs.map((r) => `${r.hot}/${r.upd}`).join(' / ')}`);
  }
  for (const [, k] of pools) if (k !== db) await k.destroy();
} finally {
  await db.destroy();
  await nc.close();
  await Promise.all([nats.stop(), pgs.stop()]);
}
