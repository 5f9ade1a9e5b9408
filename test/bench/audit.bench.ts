/**
 * The audit log over 200k events (commands, their results, gateway audit events): replay from
 * JetStream (read, decode, fold, chain in memory) beside a raw ordered-consumer read, and a rebuild
 * of the audit projection into Postgres beside a raw batched `unnest` INSERT of as many rows.
 */
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { type Kysely, sql } from 'kysely';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { type Message, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { auditProjection } from '../../projections/audit/audit.projection.js';
import type { ChainedAuditRow } from '../../projections/audit/audit-types.js';
import { replayAudit } from '../../projections/audit/replay.js';
import { rebuildProjection } from '../../projections/rebuild/rebuild.js';
import { type TestNats, type TestPostgres, startTestNats, startTestPostgres } from '../support/servers.js';
import { publishMany } from './projection.bench.js';
import type { BenchRow, BenchRun } from './types.js';

const EVENTS = Number(process.env.GC_BENCH_AUDIT_EVENTS ?? 200_000);
const AGENTS = 500;
const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const techs = [
  { userId: 'u-1', userName: 'ann', role: 'admin' },
  { userId: 'u-2', userName: 'otto', role: 'operator' },
];

/** Cycles of five: backstage command + its final output, switch + its result, one gateway audit event. */
function auditEvent(i: number): { subject: string; msg: Message } {
  const c = Math.floor(i / 5);
  const a = `pc-${c % AGENTS}` as AgentId;
  const actor = techs[c % 2]!;
  const atMs = 1_700_000_000_000 + i * 10;
  switch (i % 5) {
    case 0:
      return {
        subject: subjects.command(a, 'backstage'),
        msg: message(
          { backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND, commandText: `Get-Service w32time #${c}`, shell: 1, timeoutSecs: 30 } },
          { id: `bs-${c}`, agentId: a, actor, atMs },
        ),
      };
    case 1:
      return {
        subject: subjects.agentEvent(a, 'backstageOutput'),
        msg: message(
          {
            backstageOutput: {
              commandType: pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND,
              final: true,
              commandOutput: { exitCode: c % 3 === 0 ? 1 : 0, durationMs: 40 + (c % 90), outputBytes: 512 + c, runAsUser: 'SYSTEM' },
            },
          },
          { agentId: a, correlationId: `bs-${c}`, atMs },
        ),
      };
    case 2:
      return {
        subject: subjects.command(a, 'switchSession'),
        msg: message({ switchSession: { fromSessionId: 1, targetSessionId: 2 + (c % 3), viewerId: `cs-${c}` } }, { id: `sw-${c}`, agentId: a, actor, atMs }),
      };
    case 3:
      return {
        subject: subjects.agentEvent(a, 'switched'),
        msg: message(
          { sessionSwitched: { ok: c % 10 !== 0, fromSessionId: 1, toSessionId: 2 + (c % 3), viewerId: `cs-${c}`, durationMs: 120 + (c % 50), epoch: c } },
          { agentId: a, correlationId: `sw-${c}`, atMs },
        ),
      };
    default: {
      const t = ['viewer_joined', 'viewer_left', 'login', 'user_created'][c % 4]!;
      return {
        subject: subjects.audit(t),
        msg: message(
          { audit: { eventType: t, connectSessionId: `cs-${c}`, windowsSessionId: 1, detailsJson: JSON.stringify({ session_type: 'screen_control', ip: '10.0.0.7' }) } },
          { agentId: a, actor, atMs },
        ),
      };
    }
  }
}

/** Reads the whole stream with an ordered consumer and does nothing with it (the read ceiling). */
async function rawRead(nc: NatsConnection, last: number): Promise<number> {
  const consumer = await jetstream(nc).consumers.get(Streams.events.name, { deliver_policy: DeliverPolicy.All });
  const t0 = performance.now();
  let n = 0;
  let bytes = 0;
  const it = await consumer.consume({ max_messages: 5000 });
  for await (const m of it) {
    n++;
    bytes += m.data.length;
    if (m.seq >= last) break;
  }
  const ms = performance.now() - t0;
  await consumer.delete().catch(() => {});
  if (n !== last || bytes === 0) throw new Error(`raw read saw ${n} of ${last}`);
  return (n * 1000) / ms;
}

/** Inserts `count` rows shaped like the rebuilt ones (cycling them under fresh ids) into a copy of `events` with all its indexes. */
async function rawInsert(db: Kysely<Database>, rows: ChainedAuditRow[], count: number, progress: (msg: string) => void): Promise<number> {
  await sql`create table raw_events (like events including all)`.execute(db);
  const B = 1000;
  const t0 = performance.now();
  for (let i = 0; i < count; i += B) {
    const r = Array.from({ length: Math.min(B, count - i) }, (_, k) => rows[(i + k) % rows.length]!);
    await sql`insert into raw_events (id, seq, session_id, user_id, user_name, agent_id, event_type, details, created_at, correlation_id, hash)
      select id, seq, session_id, user_id, user_name, agent_id, event_type, details::jsonb, created_at, correlation_id, hash from unnest(
        ${r.map((_, k) => `raw-${i + k}`)}::text[], ${r.map((_, k) => i + k + 1)}::int8[], ${r.map((x) => x.session_id)}::text[], ${r.map((x) => x.user_id)}::text[],
        ${r.map((x) => x.user_name)}::text[], ${r.map((x) => x.agent_id)}::text[], ${r.map((x) => x.event_type)}::text[], ${r.map((x) => JSON.stringify(x.details))}::text[],
        ${r.map((x) => x.created_at)}::timestamptz[], ${r.map((x) => x.correlation_id)}::text[], ${r.map((x) => x.hash)}::text[]
      ) as t(id, seq, session_id, user_id, user_name, agent_id, event_type, details, created_at, correlation_id, hash)`.execute(db);
    if ((i / B) % 50 === 49) progress(`  raw insert ${n0(i + B)}/${n0(count)}`);
  }
  return (count * 1000) / (performance.now() - t0);
}

export const run: BenchRun = async (progress) => {
  let nats: TestNats | undefined;
  let pgs: TestPostgres | undefined;
  let nc: NatsConnection | undefined;
  let db: Kysely<Database> | undefined;
  try {
    [nats, pgs] = await Promise.all([startTestNats(), startTestPostgres()]);
    nc = await connectBus({ servers: nats.url, name: 'bench' });
    await ensureStreams(await jetstreamManager(nc));
    db = openDb({ url: pgs.url, max: 4 });
    await migrateToLatest(db);

    progress(`publishing ${n0(EVENTS)} commands, results and audit events (${AGENTS} agents)`);
    const last = await publishMany(jetstream(nc), EVENTS, auditEvent, progress);
    if (last !== EVENTS) throw new Error(`stream ends at ${last}, expected ${EVENTS}`);

    progress('raw JetStream read (ordered consumer, no decoding)');
    const rawReadPerSec = await rawRead(nc, last);
    progress(`  ${n0(rawReadPerSec)} msg/s`);

    progress('audit replay (read, decode, fold, hash chain in memory)');
    let t0 = performance.now();
    let shown = 0;
    const replay = await replayAudit(nc, {
      onProgress: (seq) => {
        if (seq - shown >= 50_000) {
          shown = seq;
          progress(`  replayed ${n0(seq)}/${n0(last)}`);
        }
      },
    });
    const replayPerSec = (replay.eventsRead * 1000) / (performance.now() - t0);
    if (replay.eventsRead !== EVENTS || replay.undecodable) throw new Error(`replay read ${replay.eventsRead}, undecodable ${replay.undecodable}`);
    progress(`  ${n0(replayPerSec)} events/s -> ${n0(replay.rows.length)} audit rows`);

    progress('rebuild of the audit projection into Postgres (shadow tables, then swap)');
    t0 = performance.now();
    shown = 0;
    const rb = await rebuildProjection({
      nc,
      db,
      def: auditProjection,
      onProgress: (seq) => {
        if (seq - shown >= 50_000) {
          shown = seq;
          progress(`  rebuilt ${n0(seq)}/${n0(last)}`);
        }
      },
    });
    if (!rb.ok) throw new Error(rb.error.message);
    const rebuildPerSec = (rb.value.events * 1000) / (performance.now() - t0);
    const stored = Number((await db.selectFrom('events').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n);
    if (stored !== replay.rows.length) throw new Error(`rebuild stored ${stored} rows, replay computed ${replay.rows.length}`);
    const head = await db.selectFrom('events').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    if (head.hash !== replay.rows[replay.rows.length - 1]?.hash) throw new Error('rebuilt chain head differs from the replayed one');
    progress(`  ${n0(rebuildPerSec)} events/s -> ${n0(stored)} rows`);

    progress(`raw batched INSERT (unnest, 1,000 rows per statement) of ${n0(EVENTS)} audit rows into a copy of events with its indexes`);
    const rawInsertPerSec = await rawInsert(db, replay.rows, EVENTS, progress);
    const ratio = rebuildPerSec / rawInsertPerSec;

    return [
      {
        figure: `audit replay from JetStream (${n0(EVENTS)} events: read, decode, fold, chain)`,
        value: `${n0(replayPerSec)} events/s`,
        baseline: 'raw JetStream read (ordered consumer, no decoding)',
        baselineValue: `${n0(rawReadPerSec)} msg/s`,
        note: `${((replayPerSec / rawReadPerSec) * 100).toFixed(0)}% of the raw read; ${n0(replay.rows.length)} audit rows`,
        measured: { value: replayPerSec, unit: 'events/s', baselineValue: rawReadPerSec },
      },
      {
        figure: `audit rebuild into Postgres (${n0(EVENTS)} events -> ${n0(stored)} chained rows, shadow tables + swap)`,
        value: `${n0(rebuildPerSec)} events/s`,
        baseline: `raw unnest INSERT of ${n0(EVENTS)} audit rows (same table and indexes)`,
        baselineValue: `${n0(rawInsertPerSec)} rows/s`,
        note: `${(ratio * 100).toFixed(0)}% of raw (goal ≥ 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`,
        measured: { value: rebuildPerSec, unit: 'events/s', baselineValue: rawInsertPerSec, goal: '≥ 50% of the raw insert', met: ratio >= 0.5 },
      },
    ] satisfies BenchRow[];
  } finally {
    await db?.destroy().catch(() => {});
    await nc?.close().catch(() => {});
    await Promise.all([nats?.stop(), pgs?.stop()]);
  }
};
