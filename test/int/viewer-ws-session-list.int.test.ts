/**
 * A viewer socket shows an agent's new session list (a logon, then a logoff) when it hears it, not
 * the one the read model held before the projection committed it. The projection gathers each batch
 * for 500 ms here (GC_PROJECTION_BATCH_WAIT_MS, 10 ms by default), so a socket that re-read Postgres
 * on hearing the list would send the old one every time: the race is made certain, not timed.
 * Real gateway, nats-server and PostgreSQL; the agent is a publisher of its events.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { machinesProjection } from '../../projections/machines.projection.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import type { ProjectionWorker } from '../../projections/runtime/types.js';
import { windowsSessionsProjection } from '../../projections/windows-sessions.projection.js';
import { type TestGateway, startTestGateway } from '../support/gateway.js';
import { hostileNumbers, hostileStrings } from '../support/hostile-values.js';
import { type ViewerSocket, openViewerSocket } from '../support/viewer-ws.js';

const A = 'pc-list-live' as AgentId;
const BATCH_WAIT_MS = 500;
type Received = { t: string; [k: string]: unknown };
const info = (sessionId: number, userName: string, o: { type?: number; state?: number; capturable?: boolean } = {}) => ({
  sessionId,
  userName,
  domain: 'CORP',
  state: o.state ?? pb.SessionState.SESSION_ACTIVE,
  type: o.type ?? pb.WindowsSessionType.SESSION_CONSOLE,
  stationName: sessionId === 1 ? 'Console' : `RDP-Tcp#${sessionId}`,
  clientName: sessionId === 1 ? '' : 'LAPTOP',
  clientAddress: sessionId === 1 ? '' : '10.0.0.9',
  logonTimeMs: 1_700_000_000_000 + sessionId,
  idleSecs: 7,
  locked: false,
  capturable: o.capturable ?? true,
});

describe('viewer socket: the session list it shows follows the agent at once (real gateway, NATS, PostgreSQL)', { timeout: 60_000 }, () => {
  let t: TestGateway;
  let workers: ProjectionWorker[] = [];
  let ws: ViewerSocket | undefined;
  const received: Received[] = [];

  before(async () => {
    t = await startTestGateway();
    const { nc, db } = t.backbone;
    workers = await Promise.all([machinesProjection, windowsSessionsProjection].map((p) => startProjection(p, { nc, db, maxWaitMs: BATCH_WAIT_MS })));
  });
  after(async () => {
    ws?.close();
    await Promise.all(workers.map((w) => w.stop()));
    await t?.stop();
  });

  const publish = async (kind: 'status' | 'sessions', payload: Parameters<typeof message>[0]) => {
    const m = message(payload, { agentId: A });
    await t.backbone.js.publish(subjects.agentEvent(A, kind), encode(m), { msgID: m.meta!.id! });
  };
  /** Liveness bound, not a timing: waits until `ok` holds. */
  const until = async (what: string, ok: () => boolean | Promise<boolean>) => {
    for (let i = 0; i < 2000; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`gave up waiting for ${what}`);
  };
  const lists = () => received.filter((m) => m.t === 'sessions') as unknown as { sessions: { id: number; user: string }[]; current_session_id: number; online: boolean }[];
  const readModelIds = async () =>
    (await sql<{ session_id: string }>`select session_id from windows_sessions where agent_id = ${A} order by session_id`.execute(t.backbone.db)).rows.map((r) => Number(r.session_id));
  /** Publishes the agent's new list and returns the next list the socket sends. */
  const nextListAfter = async (sessions: ReturnType<typeof info>[], current: number) => {
    const before = lists().length;
    await publish('sessions', { sessionList: { sessions, currentSessionId: current } });
    await until('the socket to send a session list', () => lists().length > before);
    return lists()[before]!;
  };

  it('shows a logon and a logoff in the list it sends on hearing them, shaped as the read model shapes it', async () => {
    const admin = await t.userToken('list-watcher', 'admin');
    await publish('status', { agentStatus: { hostname: 'pc', heartbeatIntervalMs: 60_000, state: pb.AgentState.AGENT_ONLINE, sessions: { sessions: [info(1, 'ann')], currentSessionId: 1 } } });
    await until('the read model to hold the first list', async () => (await readModelIds()).join() === '1');
    ws = await openViewerSocket(t.url, A, admin, (m) => received.push(m));
    await until('the first list', () => lists().length > 0);
    assert.deepEqual(
      lists()[0]!.sessions.map((s) => s.id),
      [1],
    );
    const firstFromReadModel = lists()[0]!.sessions[0];

    // bob logs on over RDP: the list the socket sends on hearing it has him.
    const logon = await nextListAfter([info(1, 'ann'), info(2, 'bob', { type: pb.WindowsSessionType.SESSION_RDP, state: pb.SessionState.SESSION_IDLE })], 1);
    assert.deepEqual(
      logon.sessions.map((s) => [s.id, s.user]),
      [
        [1, 'ann'],
        [2, 'bob'],
      ],
    );
    assert.equal(logon.online, true);
    // Shaped as the read model shapes it (labels, times, every field): the same session reads the same either way.
    assert.deepEqual(logon.sessions[0], firstFromReadModel);
    await until('the read model to catch up', async () => (await readModelIds()).join() === '1,2');
    const fromApi = (await (await fetch(`${t.url}/api/machines/${A}/windows-sessions`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { sessions: unknown[] };
    assert.deepEqual(logon.sessions, fromApi.sessions);

    // ann logs off: gone from the next list at once.
    const logoff = await nextListAfter([info(2, 'bob', { type: pb.WindowsSessionType.SESSION_RDP })], 2);
    assert.deepEqual(
      logoff.sessions.map((s) => s.id),
      [2],
    );
    assert.equal(logoff.current_session_id, 2);
  });

  it("shows a hostile list as the read model does once it commits it, and never another agent's list", async () => {
    const admin = await t.userToken('list-hostile', 'admin');
    // Another agent's list first: the socket watches A, so the next list it sends is A's.
    const other = message({ sessionList: { sessions: [info(9, 'other-agent-user')], currentSessionId: 9 } }, { agentId: 'pc-someone-else' as AgentId });
    await t.backbone.js.publish(subjects.agentEvent('pc-someone-else' as AgentId, 'sessions'), encode(other), { msgID: other.meta!.id! });
    const ids = hostileNumbers.filter((n) => Number.isInteger(n) && n >= 0 && n <= 2 ** 32 - 1);
    const sessions = [
      ...hostileStrings.map((text, i) => ({ ...info(100 + i, text), domain: text, stationName: text, clientName: text, clientAddress: text })),
      ...ids.map((id) => ({ ...info(id, `id-${id}`), state: 99, type: 99, idleSecs: 2 ** 32 - 1 })),
      // The same id twice (the first is kept), and logon times at and past the ends of the clock.
      { ...info(100, 'duplicate') },
      { ...info(200, 'far-future'), logonTimeMs: 8.64e15 },
      { ...info(201, 'before-epoch'), logonTimeMs: -1 },
      { ...info(202, 'int64-max'), logonTimeMs: Number.MAX_SAFE_INTEGER },
    ];
    const heard = await nextListAfter(sessions, 2 ** 32 - 1);
    assert.ok(!heard.sessions.some((s) => s.user === 'other-agent-user'), "another agent's session is not in this agent's list");
    await until('the read model to hold the hostile list', async () => (await readModelIds()).length === heard.sessions.length);
    const fromApi = (await (await fetch(`${t.url}/api/machines/${A}/windows-sessions`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { sessions: unknown[] };
    assert.equal(heard.sessions.length, hostileStrings.length + ids.length + 3 - (ids.includes(100) ? 1 : 0));
    assert.deepEqual(heard.sessions, fromApi.sessions);
  });
});
