/** windows_sessions rows, given/when/then: an event carrying a session list -> the agent's rows. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type MessageInit, encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { type AgentEventKind, subjects } from '../../proto/subjects.js';
import { decodeEvent } from '../../projections/runtime/decode-event.js';
import type { DecodedEvent } from '../../projections/runtime/types.js';
import { windowsSessionRows } from '../../projections/windows-sessions.projection.js';

const A = 'pc-1' as AgentId;
function ev(kind: AgentEventKind, payload: Omit<MessageInit, 'meta'>, atMs = 7000): DecodedEvent {
  const d = decodeEvent(subjects.agentEvent(A, kind), 3, encode(message(payload, { agentId: A, atMs })));
  assert.ok(d.ok, d.ok ? '' : d.error.message);
  return d.value;
}

/** When `e` arrives, then the agent's rows are (selected columns): */
const when = (e: DecodedEvent) => ({
  thenRows: (cols: string[], rows: unknown[][]) =>
    assert.deepEqual(
      windowsSessionRows(e).map((r) => cols.map((c) => r[c as keyof typeof r])),
      rows,
    ),
});

describe('windows_sessions rows', () => {
  it('a session list becomes one row per session with readable state and type', () => {
    when(
      ev('sessions', {
        sessionList: {
          currentSessionId: 2,
          sessions: [
            {
              sessionId: 1,
              userName: 'alice',
              domain: 'CORP',
              state: pb.SessionState.SESSION_ACTIVE,
              type: pb.WindowsSessionType.SESSION_CONSOLE,
              stationName: 'Console',
              logonTimeMs: 1_700_000_000_000,
              capturable: true,
            },
            {
              sessionId: 2,
              userName: 'bob',
              state: pb.SessionState.SESSION_DISCONNECTED,
              type: pb.WindowsSessionType.SESSION_RDP,
              clientName: 'LAPTOP',
              clientAddress: '10.0.0.9',
              idleSecs: 60,
              locked: true,
            },
            { sessionId: 9, userName: 'svc', state: pb.SessionState.SESSION_IDLE, type: pb.WindowsSessionType.SESSION_TERMINAL },
          ],
        },
      }),
    ).thenRows(
      ['agent_id', 'session_id', 'user_name', 'domain', 'state', 'type', 'client_name', 'client_address', 'idle_secs', 'locked', 'capturable', 'logon_time', 'updated_at'],
      [
        [A, 1, 'alice', 'CORP', 'active', 'console', '', '', 0, false, true, new Date(1_700_000_000_000), new Date(7000)],
        [A, 2, 'bob', '', 'disconnected', 'rdp', 'LAPTOP', '10.0.0.9', 60, true, false, null, new Date(7000)],
        [A, 9, 'svc', '', 'idle', 'terminal', '', '', 0, false, false, null, new Date(7000)],
      ],
    );
  });

  it('a status heartbeat carrying the list yields the same rows', () => {
    when(ev('status', { agentStatus: { hostname: 'pc-1', sessions: { sessions: [{ sessionId: 1, userName: 'alice' }] } } })).thenRows(
      ['session_id', 'user_name', 'state', 'type'],
      [[1, 'alice', 'active', 'console']],
    );
  });

  it('a NUL in a name is dropped, because PostgreSQL text cannot hold it and the projection would stall', () => {
    when(ev('sessions', { sessionList: { sessions: [{ sessionId: 5, userName: 'ev\u0000il', domain: '\u0000', clientName: 'pc\u0000' }] } })).thenRows(
      ['session_id', 'user_name', 'domain', 'client_name'],
      [[5, 'evil', '', 'pc']],
    );
  });

  it('a malformed list with a repeated session id keeps the first, so the primary key holds', () => {
    when(
      ev('sessions', {
        sessionList: {
          sessions: [
            { sessionId: 4, userName: 'first' },
            { sessionId: 4, userName: 'second' },
          ],
        },
      }),
    ).thenRows(['session_id', 'user_name'], [[4, 'first']]);
  });

  it('a status without a list, or an empty list, yields no rows', () => {
    when(ev('status', { agentStatus: { hostname: 'pc-1' } })).thenRows(['session_id'], []);
    when(ev('sessions', { sessionList: { sessions: [] } })).thenRows(['session_id'], []);
  });
});
