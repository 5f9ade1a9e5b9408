/**
 * Issue 13 "Trust", read side: one regression test per finding of the security review, against real
 * nats-server and PostgreSQL with the four projections of projections/all.ts running. Each of these
 * stalled a projection (or silenced the audit log) before the quarantine and the sanitiser.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { encode, message, pb } from '../../proto/codec.js';
import { HEARTBEAT_MS } from '../../proto/heartbeat.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { projections } from '../../projections/all.js';
import { rebuildProjection } from '../../projections/rebuild/rebuild.js';
import { healthRoutes } from '../../services/gateway/routes/health.js';
import { quarantinedAudit } from '../../projections/audit/audit-quarantine.js';
import { replayAudit } from '../../projections/audit/replay.js';
import { verifyAudit } from '../../projections/audit/verify.js';
import { projectionLag, readSideHealth } from '../../infra/db/read-side-health.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import type { ProjectionWorker } from '../../projections/runtime/types.js';
import { type Backbone, startBackbone } from '../support/servers.js';

const A = 'trust-a' as AgentId;
const B = 'trust-b' as AgentId;
const ann = { userId: 'u-ann', userName: 'ann', role: 'admin' };
const U32_MAX = 4294967295;
// Liveness bound, not a timing assertion: a stalled projection never gets there.
const LIVE_MS = 30_000;

describe('read side trust: no event stalls a projection or silences the audit log (real nats-server and PostgreSQL)', () => {
  let backbone: Backbone | undefined;
  let db: Kysely<Database>;
  const workers = new Map<string, ProjectionWorker>();
  const w = (name: string) => workers.get(name)!;
  /** Publishes with the message id as Nats-Msg-Id (as producers do), unless `msgID` says otherwise. */
  const pub = async (subject: string, m: ReturnType<typeof message>, msgID: string | undefined = m.meta!.id!) => (await backbone!.js.publish(subject, encode(m), msgID ? { msgID } : {})).seq;
  const rowsOf = async () => db.selectFrom('events').selectAll().orderBy('seq').execute();

  before(async () => {
    backbone = await startBackbone();
    db = backbone.db;
    for (const p of projections) workers.set(p.name, await startProjection(p, { nc: backbone.nc, db }));
  });
  after(async () => {
    await Promise.all([...workers.values()].map((x) => x.stop()));
    await backbone?.stop();
  });

  it('finding 1: a lone surrogate in a login_failed event is stored as U+FFFD and later events still reach the audit log', async () => {
    const details = JSON.stringify({ name: 'x\ud800', ip: '127.0.0.1', reason: 'bad password' });
    // JSON.stringify escapes the lone surrogate (\ud800): valid UTF-8 on the wire, refused by Postgres's json parser.
    await pub(subjects.audit('login_failed'), message({ audit: { eventType: 'login_failed', detailsJson: details } }));
    const later = await pub(subjects.audit('login'), message({ audit: { eventType: 'login', detailsJson: '{"marker":"after-surrogate"}' } }, { actor: ann }));
    assert.ok(await w('audit').caughtUp(later, LIVE_MS), 'the audit checkpoint passes the event');
    const rows = await rowsOf();
    const failed = rows.find((r) => r.event_type === 'login_failed');
    assert.equal(failed?.details.name, 'x\ufffd');
    assert.equal(rows.at(-1)?.details.marker, 'after-surrogate');
    assert.equal((await quarantinedAudit(db)).size, 0, 'sanitised, not quarantined');
    assert.deepEqual((await verifyAudit(backbone!.nc, db, { graceMs: LIVE_MS })).findings, [], 'replay cleans the same way, so hashes agree');
  });

  it('finding 2a: a sessions list with session_id 2^32-1 is stored (windows_sessions) and the next list is projected', async () => {
    const huge = await pub(
      subjects.agentEvent(A, 'sessions'),
      message({ sessionList: { currentSessionId: U32_MAX, sessions: [{ sessionId: U32_MAX, userName: 'max', idleSecs: U32_MAX, logonTimeMs: 8.64e15 }] } }, { agentId: A }),
    );
    assert.ok(await w('windows_sessions').caughtUp(huge, LIVE_MS));
    assert.ok(await w('machines').caughtUp(huge, LIVE_MS));
    const row = await db.selectFrom('windows_sessions').selectAll().where('agent_id', '=', A).executeTakeFirstOrThrow();
    assert.deepEqual([row.session_id, row.idle_secs, row.logon_time], [String(U32_MAX), String(U32_MAX), null], 'a logon time past stream time + 1 day is unknown');
    const next = await pub(subjects.agentEvent(A, 'sessions'), message({ sessionList: { currentSessionId: 1, sessions: [{ sessionId: 1, userName: 'next' }] } }, { agentId: A }));
    assert.ok(await w('windows_sessions').caughtUp(next, LIVE_MS));
    assert.deepEqual(
      (await db.selectFrom('windows_sessions').select('user_name').where('agent_id', '=', A).execute()).map((r) => r.user_name),
      ['next'],
    );
  });

  it('finding 2b: a status with heartbeat_interval_ms 2^32-1 is stored held to the configurable range (machines) and the next status is projected', async () => {
    const huge = await pub(subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-max', heartbeatIntervalMs: U32_MAX, currentSessionId: U32_MAX } }, { agentId: A, atMs: 8.64e15 }));
    assert.ok(await w('machines').caughtUp(huge, LIVE_MS));
    const m = await db.selectFrom('machines').selectAll().where('agent_id', '=', A).executeTakeFirstOrThrow();
    assert.deepEqual([m.heartbeat_interval_ms, m.current_session_id], [String(HEARTBEAT_MS.max), String(U32_MAX)], 'the interval an agent can be configured with at most (proto/heartbeat.ts)');
    assert.ok(m.last_seen.getTime() < Date.now() + 60_000, `an agent clock in year 275760 is not stored (got ${m.last_seen.toISOString()})`);
    const next = await pub(subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-next', heartbeatIntervalMs: 5000 } }, { agentId: A }));
    assert.ok(await w('machines').caughtUp(next, LIVE_MS));
    assert.equal((await db.selectFrom('machines').select('hostname').where('agent_id', '=', A).executeTakeFirstOrThrow()).hostname, 'pc-next');
  });

  it('finding 2c: a switched event with meta.at_ms = -10^15 is audited at the stream time and later events follow', async () => {
    const before = Date.now();
    const odd = await pub(
      subjects.agentEvent(A, 'switched'),
      message({ sessionSwitched: { ok: true, fromSessionId: 1, toSessionId: 2, viewerId: 'cs-odd' } }, { agentId: A, atMs: -1e15, correlationId: 'no-such-command' }),
    );
    const later = await pub(subjects.audit('login'), message({ audit: { eventType: 'login', detailsJson: '{"marker":"after-at-ms"}' } }, { actor: ann }));
    assert.ok(await w('audit').caughtUp(later, LIVE_MS));
    assert.ok(await w('connect_sessions').caughtUp(later, LIVE_MS));
    const rows = await rowsOf();
    const sw = rows.find((r) => Number(r.seq) === odd)!;
    assert.equal(sw.event_type, 'session_switched');
    assert.ok(sw.created_at.getTime() >= before - 1000, `the stream's time, not the agent's (got ${sw.created_at.toISOString()})`);
    assert.equal(rows.at(-1)?.details.marker, 'after-at-ms');
  });

  it('quarantine: an event Postgres refuses is quarantined with a chained row at its seq; verify reports exactly it; the next event is projected', async () => {
    const m = message({ audit: { eventType: 'x'.repeat(60), detailsJson: '{}' } }, { actor: ann }); // events.event_type is varchar(50)
    const bad = await pub(subjects.audit('login'), m);
    const next = await pub(subjects.audit('logout'), message({ audit: { eventType: 'logout', detailsJson: '{"marker":"after-quarantine"}' } }, { actor: ann }));
    assert.ok(await w('audit').caughtUp(next, LIVE_MS));
    const q = await db.selectFrom('quarantined_events').selectAll().where('projection', '=', 'audit').execute();
    assert.deepEqual(
      q.map((r) => [Number(r.stream_seq), r.subject, r.error_code, r.sha256]),
      [[bad, subjects.audit('login'), '22001', createHash('sha256').update(encode(m)).digest('hex')]],
    );
    const rows = await rowsOf();
    const stand = rows.find((r) => Number(r.seq) === bad);
    assert.equal(stand?.event_type, 'event_quarantined');
    assert.deepEqual([stand?.details.stream_seq, stand?.details.subject, stand?.details.sha256], [bad, subjects.audit('login'), q[0]!.sha256]);
    assert.equal(rows.at(-1)?.details.marker, 'after-quarantine');
    assert.equal(w('audit').stats().quarantined, 1);
    const v = await verifyAudit(backbone!.nc, db, { graceMs: LIVE_MS });
    assert.deepEqual(
      v.findings.map((f) => [f.kind, f.id]),
      [['quarantined', `quarantined:${bad}`]],
    );
    const replay = await replayAudit(backbone!.nc, { quarantined: await quarantinedAudit(db) });
    assert.equal(replay.rows.at(-1)?.hash, rows.at(-1)?.hash, 'the chain after the quarantined seq still compares equal');
    const jsm = await jetstreamManager(backbone!.nc);
    const last = (await jsm.streams.info(Streams.events.name)).state.last_seq;
    const health = await readSideHealth(
      db,
      projections.map((p) => p.name),
      (name, cp) => projectionLag(jsm, { name }, cp, last),
    );
    assert.deepEqual(
      health.projections.map((p) => [p.name, p.quarantined, p.lag]),
      [
        ['machines', 0, 0],
        ['windows_sessions', 0, 0],
        ['connect_sessions', 0, 0],
        ['audit', 1, 0],
      ],
    );
    assert.deepEqual(
      health.quarantined_recent.map((r) => [r.projection, r.stream_seq]),
      [['audit', bad]],
    );

    // GET /api/health (public): lag and quarantine, without subjects or messages for an anonymous caller.
    const app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(healthRoutes, { db, busConnected: () => true, projectionLag: async (name, cp) => projectionLag(jsm, { name }, cp, last) });
    const res = await app.inject({ method: 'GET', url: '/api/health' });
    await app.close();
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { read_side: { attention: boolean; projections: Array<{ name: string; quarantined: number }>; quarantined_recent: Array<Record<string, unknown>> } };
    assert.equal(body.read_side.attention, true);
    assert.deepEqual(body.read_side.projections.find((p) => p.name === 'audit')?.quarantined, 1);
    assert.deepEqual(Object.keys(body.read_side.quarantined_recent[0]!).sort(), ['error_code', 'projection', 'quarantined_at', 'stream_seq']);

    // A rebuild from sequence 1 quarantines the same event again and chains the same stand-in row.
    const before = await rowsOf();
    const rebuilt = await rebuildProjection({ nc: backbone!.nc, db, def: projections.find((p) => p.name === 'audit')! });
    assert.ok(rebuilt.ok, rebuilt.ok ? '' : rebuilt.error.message);
    assert.deepEqual(
      (await rowsOf()).map((r) => [r.id, r.hash]),
      before.map((r) => [r.id, r.hash]),
    );
    assert.equal((await quarantinedAudit(db)).size, 1);
  });

  it('agent silencing its own command: an event whose id is the command id does not drop the command row', async () => {
    const cmd = 'cmd-silenced';
    await pub(subjects.command(A, 'switchSession'), message({ switchSession: { targetSessionId: 2, fromSessionId: 1, viewerId: 'cs-9' } }, { id: cmd, agentId: A, actor: ann }));
    // Before answering, the agent publishes facts of its own under the command's id (another Nats-Msg-Id, so JetStream keeps them).
    await pub(subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-next', state: pb.AgentState.AGENT_STOPPING } }, { id: cmd, agentId: A }), 'forged-1');
    const answer = await pub(
      subjects.agentEvent(A, 'switched'),
      message({ sessionSwitched: { ok: true, fromSessionId: 1, toSessionId: 2, viewerId: 'cs-9', durationMs: 12 } }, { agentId: A, correlationId: cmd }),
    );
    assert.ok(await w('audit').caughtUp(answer, LIVE_MS));
    const row = await db.selectFrom('events').selectAll().where('id', '=', cmd).executeTakeFirstOrThrow();
    assert.deepEqual([row.event_type, row.agent_id, Number(row.seq), row.user_name], ['session_switched', A, answer, 'ann']);
    const forged = await db.selectFrom('events').select(['id', 'event_type']).where('id', 'like', `agent:${A}:%`).where('id', 'like', `%${cmd}`).orderBy('seq').execute();
    assert.deepEqual(
      forged.map((r) => r.event_type),
      ['agent_offline'],
      "the agent's own fact is a row in its namespace",
    );
  });

  it("another agent's result does not close a command sent to this agent", async () => {
    const cmd = 'cmd-other-agent';
    await pub(subjects.command(A, 'switchSession'), message({ switchSession: { targetSessionId: 3, fromSessionId: 2, viewerId: 'cs-9' } }, { id: cmd, agentId: A, actor: ann }));
    await pub(
      subjects.agentEvent(B, 'switched'),
      message({ sessionSwitched: { ok: false, fromSessionId: 2, toSessionId: 3, viewerId: 'cs-9', error: { code: 'SESSION_NOT_FOUND', message: 'forged' } } }, { agentId: B, correlationId: cmd }),
    );
    const answer = await pub(
      subjects.agentEvent(A, 'switched'),
      message({ sessionSwitched: { ok: true, fromSessionId: 2, toSessionId: 3, viewerId: 'cs-9', durationMs: 9 } }, { agentId: A, correlationId: cmd }),
    );
    assert.ok(await w('audit').caughtUp(answer, LIVE_MS));
    const row = await db.selectFrom('events').selectAll().where('id', '=', cmd).executeTakeFirstOrThrow();
    assert.deepEqual([row.event_type, row.agent_id, Number(row.seq), row.details.ok], ['session_switched', A, answer, true]);
    const other = await db.selectFrom('events').selectAll().where('agent_id', '=', B).execute();
    assert.deepEqual(
      other.map((r) => [r.event_type, r.correlation_id, r.details.request_seen]),
      [['session_switch_failed', cmd, false]],
    );
  });

  it('finding 7: verify fails with `lagging` while the audit checkpoint stays behind the stream, and passes once it catches up', async () => {
    await w('audit').stop();
    const behind = await pub(subjects.audit('login'), message({ audit: { eventType: 'login', detailsJson: '{}' } }, { actor: ann }));
    const v = await verifyAudit(backbone!.nc, db, { graceMs: 300 });
    const lag = v.findings.filter((f) => f.kind === 'lagging');
    assert.equal(lag.length, 1, JSON.stringify(v.findings));
    assert.match(lag[0]!.detail, new RegExp(`at seq ${behind - 1}, 1 events behind the stream's last seq ${behind}`));
    workers.set('audit', await startProjection(projections.find((p) => p.name === 'audit')!, { nc: backbone!.nc, db }));
    const v2 = await verifyAudit(backbone!.nc, db, { graceMs: LIVE_MS });
    assert.deepEqual(
      v2.findings.map((f) => f.kind),
      ['quarantined'],
      'caught up: only the quarantined event of the earlier test remains',
    );
    assert.equal(v2.checkpoint, behind);
  });
});
