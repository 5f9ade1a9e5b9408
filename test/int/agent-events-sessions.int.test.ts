/**
 * The session list the gateway keeps per agent (what the switch checks read before the database):
 * it follows a SessionList and the list a heartbeat carries alike, the latest heard wins, and a
 * heartbeat without a list (an older agent) leaves the last list alone. Real nats-server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/nats-core';
import { encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { connectBus } from '../../proto/bus/connect.js';
import { subjects } from '../../proto/subjects.js';
import { type AgentEvents, subscribeAgentEvents } from '../../services/gateway/bus/agent-events.js';
import { type TestNats, startTestNats } from '../support/servers.js';

const A = 'pc-heard' as AgentId;
const session = (sessionId: number, userName: string, capturable = true) => ({ sessionId, userName, type: pb.WindowsSessionType.SESSION_CONSOLE, capturable });

describe('the session list a gateway hears', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let events: AgentEvents;
  before(async () => {
    nats = await startTestNats();
    nc = await connectBus({ servers: nats.url, name: 'test' });
    events = subscribeAgentEvents(nc, () => {});
    await nc.flush();
  });
  after(async () => {
    events.close();
    await nc.close();
    await nats.stop();
  });

  /** Publishes and waits until the subscription has seen it: the server answers the flush's PING after delivering the message to the same connection. */
  const publish = async (kind: 'status' | 'sessions', payload: Parameters<typeof message>[0]) => {
    nc.publish(subjects.agentEvent(A, kind), encode(message(payload, { agentId: A })));
    await nc.flush();
  };
  const heardIds = () => events.lastSessions(A)?.rows.map((s) => s.session_id);

  it('takes the list a heartbeat carries, then a newer SessionList, then a newer heartbeat', async () => {
    assert.equal(events.lastSessions(A), undefined);
    await publish('status', { agentStatus: { hostname: 'h', heartbeatIntervalMs: 5000, sessions: { sessions: [session(1, 'ann')] } } });
    assert.deepEqual(heardIds(), [1]);
    await publish('sessions', { sessionList: { sessions: [session(1, 'ann'), session(2, 'bob', false)] } });
    assert.deepEqual(heardIds(), [1, 2]);
    assert.equal(events.lastSessions(A)?.rows[1]?.capturable, false);
    await publish('status', { agentStatus: { hostname: 'h', heartbeatIntervalMs: 5000, sessions: { sessions: [session(3, 'cy')] } } });
    assert.deepEqual(heardIds(), [3]);
  });

  it('keeps the last list when a heartbeat carries none, and takes an empty list as empty', async () => {
    await publish('status', { agentStatus: { hostname: 'h', heartbeatIntervalMs: 5000 } });
    assert.deepEqual(heardIds(), [3]);
    await publish('status', { agentStatus: { hostname: 'h', heartbeatIntervalMs: 5000, sessions: { sessions: [] } } });
    assert.deepEqual(heardIds(), []);
  });

  it('hears an answer only from the agent it was asked of: another agent naming the same command or terminal id is no answer', async () => {
    // Before: any agent that knew (or guessed) a command id could answer it; the gateway took a forged
    // backstage result from another machine as this one's, or wrote into this one's SYSTEM terminal.
    const other = 'pc-other' as AgentId;
    const cid = 'cmd-of-pc-heard';
    const heard: string[] = [];
    const stop = events.onCorrelation(A, cid, (m) => heard.push(`${m.meta.agentId} ${m.payload}`));
    const answer = (agent: AgentId) => {
      nc.publish(subjects.agentEvent(agent, 'backstageOutput'), encode(message({ backstageOutput: { final: true, commandOutput: { stdout: agent } } }, { agentId: agent, correlationId: cid })));
      nc.publish(subjects.agentEvent(agent, 'terminal'), encode(message({ terminalOutput: { data: new TextEncoder().encode(agent) } }, { agentId: agent, correlationId: cid })));
      nc.publish(subjects.agentEvent(agent, 'switched'), encode(message({ sessionSwitched: { ok: true, toSessionId: 1 } }, { agentId: agent, correlationId: cid })));
    };
    answer(other);
    await nc.flush();
    assert.deepEqual(heard, [], 'nothing from another agent');
    answer(A);
    await nc.flush();
    stop();
    assert.deepEqual(heard, [`${A} backstageOutput`, `${A} terminalOutput`, `${A} sessionSwitched`]);
  });
});
