import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { type Kysely, sql } from 'kysely';
import { connectBus } from '../../proto/bus/connect.js';
import { openDb } from '../../infra/db/connect.js';
import type { Database } from '../../infra/db/schema.js';
import { encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { connectSessionsProjection } from '../../projections/connect-sessions.projection.js';
import { machinesProjection } from '../../projections/machines.projection.js';
import { rebuildProjection } from '../../projections/rebuild/rebuild.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import { windowsSessionsProjection } from '../../projections/windows-sessions.projection.js';
import { type Backbone, type TestNats, type TestPostgres, startBackbone } from '../support/servers.js';

const A = 'agent-1' as AgentId;
// Agents' clocks count only within a bound of the stream's (proto/event-time.ts): an hour ago is inside it.
const T = Date.now() - 3_600_000;
const sessionList = (users: string[], current: number) => ({
  currentSessionId: current,
  sessions: users.map((u, i) => ({
    sessionId: i + 1,
    userName: u,
    state: i === 0 ? 0 : 1,
    type: i === 0 ? 0 : 1,
    stationName: i === 0 ? 'Console' : `RDP-Tcp#${i}`,
    logonTimeMs: 1_700_000_000_000 + i,
    capturable: true,
  })),
});

async function pub(js: JetStreamClient, subject: string, m: ReturnType<typeof message>): Promise<number> {
  return (await js.publish(subject, encode(m), { msgID: m.meta!.id! })).seq;
}

async function tableRows(db: Kysely<Database>, table: 'machines' | 'windows_sessions' | 'connect_sessions', order: string): Promise<unknown[]> {
  return (await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by ${sql.raw(order)}`.execute(db)).rows;
}

describe('read-model projections (real nats-server and PostgreSQL)', () => {
  let nats: TestNats;
  let pgs: TestPostgres;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let db: Kysely<Database>;
  let backbone: Backbone | undefined;
  before(async () => {
    backbone = await startBackbone();
    ({ nats, pgs, nc, js, db } = backbone);
  });
  after(async () => {
    await backbone?.stop();
  });

  it('builds machines and windows_sessions rows from status and session lists', async () => {
    const w1 = await startProjection(machinesProjection, { nc, db });
    const w2 = await startProjection(windowsSessionsProjection, { nc, db });
    await pub(
      js,
      subjects.agentEvent(A, 'status'),
      message(
        {
          agentStatus: {
            version: '1.2.3',
            hostname: 'pc-1',
            osVersion: 'Windows 11',
            platform: 'windows',
            elevated: true,
            currentSessionId: 1,
            heartbeatIntervalMs: 5000,
            sessions: sessionList(['alice', 'bob'], 1),
          },
        },
        { agentId: A, atMs: T + 1_000 },
      ),
    );
    const last = await pub(
      js,
      subjects.agentEvent(A, 'sessions'),
      message(
        {
          sessionList: {
            ...sessionList(['alice', 'carol', 'carol'], 2),
            sessions: [...sessionList(['alice', 'carol', 'carol'], 2).sessions, { sessionId: 9, userName: 'dave', type: pb.WindowsSessionType.SESSION_TERMINAL }],
          },
        },
        { agentId: A, atMs: T + 2_000 },
      ),
    );
    assert.ok(await w1.caughtUp(last));
    assert.ok(await w2.caughtUp(last));
    const m = await db.selectFrom('machines').selectAll().executeTakeFirstOrThrow();
    assert.equal(m.hostname, 'pc-1');
    assert.equal(m.elevated, true);
    assert.equal(Number(m.current_session_id), 2);
    assert.equal(Number(m.session_count), 4);
    assert.deepEqual(m.users, ['alice', 'carol']);
    assert.equal(m.state, 'online');
    assert.equal(m.first_seen.getTime(), T + 1_000);
    assert.equal(m.last_seen.getTime(), T + 2_000);
    const ws = await db.selectFrom('windows_sessions').selectAll().orderBy('session_id').execute();
    assert.deepEqual(
      ws.map((r) => [Number(r.session_id), r.user_name, r.state, r.type]),
      [
        [1, 'alice', 'active', 'console'],
        [2, 'carol', 'disconnected', 'rdp'],
        [3, 'carol', 'disconnected', 'rdp'],
        [9, 'dave', 'active', 'terminal'],
      ],
    );
    assert.equal(ws[0]?.logon_time?.getTime(), 1_700_000_000_000);
    const stop = await pub(js, subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-1', state: pb.AgentState.AGENT_STOPPING } }, { agentId: A, atMs: T + 3_000 }));
    assert.ok(await w1.caughtUp(stop));
    assert.equal((await db.selectFrom('machines').select('state').executeTakeFirstOrThrow()).state, 'stopped');
    // Undecodable message: counted and skipped, the worker goes on.
    await js.publish(subjects.agentEvent(A, 'sessions'), new Uint8Array([0xff, 0xff, 0x01]));
    const after = await pub(js, subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-1b' } }, { agentId: A, atMs: T + 4_000 }));
    assert.ok(await w1.caughtUp(after));
    assert.equal(w1.stats().undecodable, 1);
    assert.equal((await db.selectFrom('machines').select('hostname').executeTakeFirstOrThrow()).hostname, 'pc-1b');
    await w1.stop();
    await w2.stop();
  });

  it('a worker killed mid-stream and restarted yields the same rows, nothing doubled', async () => {
    const agents = Array.from({ length: 20 }, (_, i) => `k-${i}` as AgentId);
    const publishAll = async (n: number, base: number) => {
      const acks: Promise<{ seq: number }>[] = [];
      for (let i = 0; i < n; i++) {
        const a = agents[i % agents.length]!;
        const m =
          i % 3 === 0
            ? message({ sessionList: sessionList([`u${i % 7}`, `v${i % 5}`], i % 4) }, { agentId: a, atMs: base + i })
            : message({ agentStatus: { hostname: `h-${a}`, version: `v${i}`, sessions: sessionList([`u${i % 7}`], 1) } }, { agentId: a, atMs: base + i });
        const subj = m.sessionList ? subjects.agentEvent(a, 'sessions') : subjects.agentEvent(a, 'status');
        acks.push(js.publish(subj, encode(m), { msgID: m.meta!.id! }));
      }
      return Math.max(...(await Promise.all(acks)).map((x) => x.seq));
    };
    // A worker on its own connections, closed abruptly (no drain, no acks for what is in flight).
    const nc2 = await connectBus({ servers: nats.url, name: 'victim' });
    const db2 = openDb({ url: pgs.url, max: 2 });
    const victim = await startProjection(connectSessionsProjection, { nc: nc2, db: db2 });
    const v1 = await startProjection({ ...machinesProjection }, { nc: nc2, db: db2, batchSize: 50 });
    const v2 = await startProjection({ ...windowsSessionsProjection }, { nc: nc2, db: db2, batchSize: 50 });
    const last1 = await publishAll(3000, 10_000);
    while (v1.stats().applied < 500) await new Promise((r) => setTimeout(r, 5));
    await db2.destroy().catch(() => {});
    await nc2.close().catch(() => {});
    // The dead workers' loops only end when told to; their connections are already gone.
    await Promise.all([victim.stop(), v1.stop(), v2.stop()]);
    const killedAt = v1.stats().checkpoint;
    assert.ok(killedAt < last1, 'the kill happened mid-stream');
    const last2 = await publishAll(1000, 20_000);
    const w1 = await startProjection(machinesProjection, { nc, db });
    const w2 = await startProjection(windowsSessionsProjection, { nc, db });
    assert.ok(await w1.caughtUp(last2, 60_000));
    assert.ok(await w2.caughtUp(last2, 60_000));
    assert.equal(w1.stats().undecodable + w1.stats().dbErrors, 0);
    const live = { m: await tableRows(db, 'machines', 'agent_id'), w: await tableRows(db, 'windows_sessions', 'agent_id, session_id') };
    // The truth: a rebuild from sequence 1 of the same stream.
    for (const def of [machinesProjection, windowsSessionsProjection]) {
      const r = await rebuildProjection({ nc, db, def });
      assert.ok(r.ok, r.ok ? '' : r.error.message);
    }
    assert.deepEqual(await tableRows(db, 'machines', 'agent_id'), live.m);
    assert.deepEqual(await tableRows(db, 'windows_sessions', 'agent_id, session_id'), live.w);
    // Live worker continues after the swap, into the swapped-in tables.
    const last3 = await pub(js, subjects.agentEvent(agents[0]!, 'status'), message({ agentStatus: { hostname: 'after-swap' } }, { agentId: agents[0]!, atMs: 99_999 }));
    assert.ok(await w1.caughtUp(last3));
    assert.equal((await db.selectFrom('machines').select('hostname').where('agent_id', '=', agents[0]!).executeTakeFirstOrThrow()).hostname, 'after-swap');
    assert.equal((await db.selectFrom('machines').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow()).n, agents.length + 1);
    await w1.stop();
    await w2.stop();
  });

  it('connect_sessions follow viewers, their type and their switches', async () => {
    const w = await startProjection(connectSessionsProjection, { nc, db });
    const actor = { userId: 'u-1', userName: 'tech', role: 'admin' };
    const audit = (t: string, cs: string, win: number, details: object, at: number) =>
      message({ audit: { eventType: t, connectSessionId: cs, windowsSessionId: win, detailsJson: JSON.stringify(details) } }, { agentId: A, actor, atMs: at });
    await pub(js, subjects.audit('viewer_joined'), audit('viewer_joined', 'cs-1', 1, { session_type: 'screen_control' }, 100));
    await pub(js, subjects.audit('viewer_joined'), audit('viewer_joined', 'cs-2', 0, { session_type: 'backstage' }, 110));
    await pub(js, subjects.agentEvent(A, 'switched'), message({ sessionSwitched: { ok: true, fromSessionId: 1, toSessionId: 3, viewerId: 'cs-1' } }, { agentId: A, atMs: 120 }));
    await pub(js, subjects.agentEvent(A, 'switched'), message({ sessionSwitched: { ok: false, fromSessionId: 3, toSessionId: 7, viewerId: 'cs-1' } }, { agentId: A, atMs: 125 }));
    const last = await pub(js, subjects.audit('viewer_left'), audit('viewer_left', 'cs-1', 3, {}, 130));
    assert.ok(await w.caughtUp(last));
    const rows = await db.selectFrom('connect_sessions').selectAll().orderBy('id').execute();
    assert.deepEqual(
      rows.map((r) => [r.id, r.session_type, r.windows_session_id === null ? null : Number(r.windows_session_id), r.user_name, r.agent_id, r.ended_at?.getTime() ?? null]),
      [
        ['cs-1', 'screen_control', 3, 'tech', A, 130],
        ['cs-2', 'backstage', 0, 'tech', A, null],
      ],
    );
    await w.stop();
  });
});
