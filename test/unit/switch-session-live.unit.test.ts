/**
 * The switch checks read what the gateway hears live (a fresh heartbeat and the latest session list
 * since its last reconnect) and ask the read model only otherwise: the database is a throwing fake,
 * so a check that reaches it when it should not fails the test.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import type { Decoded } from '../../proto/codec.js';
import { ErrorCode, ok } from '../../proto/errors.js';
import type { AgentId } from '../../proto/ids.js';
import type { Database } from '../../infra/db/schema.js';
import type { AgentEvents, HeardSessions, LastStatus } from '../../services/gateway/bus/agent-events.js';
import { windowsSessionRowsOf } from '../../infra/db/windows-session-rows.js';
import type { CommandClient } from '../../services/gateway/bus/command-client.js';
import { switchSession } from '../../services/gateway/use-cases/switch-session.js';

const A = 'pc-1' as AgentId;
const actor = { userId: 'u-1', userName: 'ann', role: 'operator' };

function deps(heard: { status?: LastStatus; sessions?: HeardSessions; hearing?: { connected: boolean; sinceMs: number } }) {
  const issued: number[] = [];
  let dbUsed = 0;
  const db = new Proxy({} as Kysely<Database>, {
    get() {
      dbUsed++;
      throw new Error('the read model was asked');
    },
  });
  const events: AgentEvents = {
    onCorrelation: () => () => {},
    onAgent: () => () => {},
    lastStatus: () => heard.status,
    lastSessions: () => heard.sessions,
    timingOf: () => undefined,
    hearing: () => heard.hearing ?? { connected: true, sinceMs: 0 },
    onReconnect: () => () => {},
    rejected: 0,
    close() {},
  };
  const commands: CommandClient = {
    async issue(_agent, _kind, payload) {
      const to = payload.switchSession?.targetSessionId ?? 0;
      issued.push(to);
      return ok({ commandId: 'c-1', answer: { sessionSwitched: { ok: true, fromSessionId: 1, toSessionId: to } } as unknown as Decoded });
    },
    send() {},
  };
  return {
    d: { db, events, commands, audit: async () => {}, offlineAfterBeats: 3, commandTimeoutMs: 1000 },
    issued,
    get dbUsed() {
      return dbUsed;
    },
  };
}

const fresh = (): LastStatus => ({ receivedAtMs: Date.now(), intervalMs: 5000, stopping: false });
const list = (receivedAtMs = Date.now()): HeardSessions => ({
  receivedAtMs,
  currentSessionId: 1,
  rows: windowsSessionRowsOf(
    {
      sessions: [
        { sessionId: 1, userName: 'ann', type: 0, capturable: true },
        { sessionId: 2, userName: 'bob', type: 1, capturable: true },
        { sessionId: 65537, userName: 'eve', type: 2, capturable: false },
      ],
    },
    receivedAtMs,
  ),
});

describe('switch checks from what the gateway hears', () => {
  it('a live agent with a heard list: switched without the read model', async () => {
    const t = deps({ status: fresh(), sessions: list() });
    const r = await switchSession(t.d, { actor, agentId: A, granted: true, sessionId: 2 });
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(t.issued, [2]);
    assert.equal(t.dbUsed, 0);
  });

  it('refuses from the heard list: an unknown session, one without a desktop (named by its user and type)', async () => {
    const t = deps({ status: fresh(), sessions: list() });
    for (const sessionId of [3, 0, 2 ** 32 - 1]) {
      const r = await switchSession(t.d, { actor, agentId: A, granted: true, sessionId });
      assert.equal(!r.ok && r.error.code, ErrorCode.SESSION_NOT_FOUND, String(sessionId));
    }
    const r = await switchSession(t.d, { actor, agentId: A, granted: true, sessionId: 65537 });
    assert.equal(!r.ok && r.error.code, ErrorCode.SESSION_NOT_CAPTURABLE);
    assert.match(!r.ok ? r.error.message : '', /eve, Terminal/);
    assert.deepEqual(t.issued, []);
    assert.equal(t.dbUsed, 0);
  });

  it('asks the read model when it hears nothing fresh: no heartbeat, a silent one, a stopping agent, no list, a list from before its reconnect, a cut connection', async () => {
    const cases = {
      'no heartbeat': { sessions: list() },
      'silent for 3 intervals': { status: { ...fresh(), receivedAtMs: Date.now() - 15_001 }, sessions: list() },
      stopping: { status: { ...fresh(), stopping: true }, sessions: list() },
      'no list': { status: fresh() },
      'list from before the reconnect': { status: fresh(), sessions: list(Date.now() - 10_000), hearing: { connected: true, sinceMs: Date.now() - 1000 } },
      disconnected: { status: fresh(), sessions: list(), hearing: { connected: false, sinceMs: Date.now() } },
    };
    for (const [what, heard] of Object.entries(cases)) {
      const t = deps(heard);
      await assert.rejects(switchSession(t.d, { actor, agentId: A, granted: true, sessionId: 2 }), /read model was asked/, what);
      assert.ok(t.dbUsed > 0, what);
      assert.deepEqual(t.issued, [], what);
    }
  });

  it('no grant: no machine, without looking anywhere', async () => {
    const t = deps({ status: fresh(), sessions: list() });
    const r = await switchSession(t.d, { actor, agentId: A, granted: false, sessionId: 2 });
    assert.equal(!r.ok && r.error.code, ErrorCode.MACHINE_NOT_FOUND);
    assert.deepEqual(t.issued, []);
  });
});
