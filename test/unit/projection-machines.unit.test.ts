/** machines fold, given/when/then: events -> the machine row (and the batch shortcut equals the plain fold). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type MessageInit, encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { type AgentEventKind, subjects } from '../../proto/subjects.js';
import { type MachineState, evolveMachine, foldMachines, machinesToLoad } from '../../projections/machines-evolve.js';
import { decodeEvent } from '../../projections/runtime/decode-event.js';
import type { DecodedEvent } from '../../projections/runtime/types.js';

const A = 'pc-1' as AgentId;

/** A stream event as the worker sees it: encoded, stored at `seq`, decoded against its subject. */
function ev(seq: number, kind: AgentEventKind, payload: Omit<MessageInit, 'meta'>, atMs = seq * 1000, agent: AgentId = A): DecodedEvent {
  const d = decodeEvent(subjects.agentEvent(agent, kind), seq, encode(message(payload, { agentId: agent, atMs })));
  assert.ok(d.ok, d.ok ? '' : d.error.message);
  return d.value;
}

const list = (current: number, ...users: [string, number?][]) => ({
  currentSessionId: current,
  sessions: users.map(([u, type], i) => ({ sessionId: i + 1, userName: u, type: type ?? pb.WindowsSessionType.SESSION_CONSOLE })),
});
const status = (extra: Record<string, unknown> = {}) => ({
  agentStatus: { version: '2.0', hostname: 'pc-1', osVersion: 'Windows 11', platform: 'windows', elevated: true, currentSessionId: 1, heartbeatIntervalMs: 3000, ...extra },
});

/** Given earlier events (folded), when `events` arrive, then the state is: */
const given = (...earlier: DecodedEvent[]) => ({
  when: (...events: DecodedEvent[]) => ({
    thenState: (expected: Partial<MachineState> | undefined) => {
      const state = [...earlier, ...events].reduce<MachineState | undefined>(evolveMachine, undefined);
      if (expected === undefined) return assert.equal(state, undefined);
      assert.ok(state);
      assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, state[k as keyof MachineState]])), expected);
    },
  }),
});

describe('machines fold', () => {
  it('a heartbeat interval out of the configurable range is held to it (2^32-1 ms kept a silent agent online for 149 days)', () => {
    for (const [reported, held] of [
      [2 ** 32 - 1, 60_000],
      [2 ** 31 - 1, 60_000],
      [60_001, 60_000],
      [60_000, 60_000],
      [1, 200],
      [0, 5_000],
      [3000, 3000],
    ] as const) {
      given()
        .when(ev(1, 'status', status({ heartbeatIntervalMs: reported })))
        .thenState({ heartbeat_interval_ms: held });
    }
  });

  it('a first status creates the row with everything it says', () => {
    given()
      .when(ev(1, 'status', status({ sessions: list(2, ['alice'], ['bob', 1], ['svc', 2]) }), 5000))
      .thenState({
        agent_id: A,
        hostname: 'pc-1',
        os_version: 'Windows 11',
        platform: 'windows',
        agent_version: '2.0',
        elevated: true,
        current_session_id: 1,
        session_count: 3,
        users: ['alice', 'bob'],
        heartbeat_interval_ms: 3000,
        state: 'online',
        first_seen: new Date(5000),
        last_seen: new Date(5000),
        last_seq: 1,
      });
  });

  it('a session list changes only the session columns and keeps first_seen', () => {
    given(ev(1, 'status', status(), 1000))
      .when(ev(2, 'sessions', { sessionList: list(2, ['carol'], ['alice', 1], ['carol', 1]) }, 2000))
      .thenState({
        hostname: 'pc-1',
        current_session_id: 2,
        session_count: 3,
        users: ['alice', 'carol'],
        first_seen: new Date(1000),
        last_seen: new Date(2000),
        last_seq: 2,
      });
  });

  it('a status without a list keeps the last known users and count', () => {
    given(ev(1, 'sessions', { sessionList: list(1, ['alice'], ['bob']) }))
      .when(ev(2, 'status', status({ hostname: 'renamed' })))
      .thenState({ hostname: 'renamed', session_count: 2, users: ['alice', 'bob'] });
  });

  it('a stopping agent is stopped; a missing heartbeat interval falls back to 5 s', () => {
    given(ev(1, 'status', status()))
      .when(ev(2, 'status', { agentStatus: { hostname: 'pc-1', state: pb.AgentState.AGENT_STOPPING } }))
      .thenState({ state: 'stopped', heartbeat_interval_ms: 5000 });
  });

  it('an event at or below the row’s sequence is ignored (redelivery)', () => {
    const first = ev(5, 'status', status({ hostname: 'new' }));
    given(first)
      .when(ev(4, 'status', status({ hostname: 'old' })), ev(5, 'status', status({ hostname: 'again' })))
      .thenState({ hostname: 'new', last_seq: 5 });
  });

  it('a switch result on the agent subject says nothing about the machine', () => {
    given()
      .when(ev(1, 'switched', { sessionSwitched: { ok: true, toSessionId: 2 } }))
      .thenState(undefined);
  });

  it('batches (loading only agents without a full status, skipping what a later full status overwrites) equal folding every event', () => {
    const agents = ['a', 'b', 'c'] as AgentId[];
    const arbEvent = fc.record({
      agent: fc.constantFrom(...agents),
      kind: fc.constantFrom('status-full', 'status-bare', 'sessions', 'stopping', 'switched'),
      users: fc.array(fc.constantFrom('alice', 'bob', 'carol'), { maxLength: 3 }),
      host: fc.constantFrom('h1', 'h2'),
    });
    fc.assert(
      fc.property(fc.array(arbEvent, { maxLength: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 40 }), (specs, split, batch) => {
        const events = specs.map((s, i) => {
          const l = list(1, ...s.users.map((u) => [u] as [string]));
          if (s.kind === 'sessions') return ev(i + 1, 'sessions', { sessionList: l }, i * 10, s.agent);
          if (s.kind === 'switched') return ev(i + 1, 'switched', { sessionSwitched: { ok: true } }, i * 10, s.agent);
          const extra = s.kind === 'status-full' ? { sessions: l, hostname: s.host } : s.kind === 'stopping' ? { sessions: l, state: pb.AgentState.AGENT_STOPPING } : { hostname: s.host };
          return ev(i + 1, 'status', status(extra), i * 10, s.agent);
        });
        const plain = new Map<string, MachineState>();
        for (const e of events) {
          const id = (e.parsed as { agentId: string }).agentId;
          const next = evolveMachine(plain.get(id), e);
          if (next) plain.set(id, next);
        }
        // Batches of any size as the projection runs them: load only machinesToLoad(batch) from the
        // stored rows, fold, then upsert keeping first_seen and never going back to an older row.
        const stored = new Map<string, MachineState>();
        for (let i = 0; i < events.length; i += i === 0 && split > 0 ? split : batch) {
          const b = events.slice(i, i + (i === 0 && split > 0 ? split : batch));
          const state = new Map(machinesToLoad(b).flatMap((id) => (stored.has(id) ? [[id, stored.get(id)!] as const] : [])));
          for (const id of foldMachines(state, b)) {
            const row = state.get(id)!;
            const old = stored.get(id);
            if (!old) stored.set(id, row);
            else if (old.last_seq < row.last_seq) stored.set(id, { ...row, first_seen: old.first_seen });
          }
        }
        assert.deepEqual(stored, plain);
      }),
      { numRuns: 300 },
    );
  });

  it('the batch fold reports exactly the agents whose row changed', () => {
    const state = new Map<string, MachineState>();
    const touched = foldMachines(state, [
      ev(1, 'status', status(), 1, 'a' as AgentId),
      ev(2, 'switched', { sessionSwitched: { ok: true } }, 2, 'b' as AgentId),
      ev(3, 'sessions', { sessionList: list(1) }, 3, 'c' as AgentId),
    ]);
    assert.deepEqual([...touched].sort(), ['a', 'c']);
    assert.deepEqual([...foldMachines(state, [ev(1, 'status', status(), 1, 'a' as AgentId)])], [], 'a replayed event changes nothing');
  });

  it('only agents without a full status in the batch need their stored row', () => {
    const b = [
      ev(1, 'status', status({ sessions: list(1) }), 1, 'full' as AgentId),
      ev(2, 'sessions', { sessionList: list(1) }, 2, 'partial' as AgentId),
      ev(3, 'status', status(), 3, 'bare' as AgentId),
      ev(4, 'sessions', { sessionList: list(1) }, 4, 'full' as AgentId),
    ];
    assert.deepEqual(machinesToLoad(b), ['partial', 'bare']);
  });
});
