/** connect_sessions fold, given/when/then: viewer audit events and switch results -> the viewer's row. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { connectSessionsProjection } from '../../projections/connect-sessions.projection.js';
import { type ConnectSessionState, connectSessionKey, evolveConnectSession } from '../../projections/connect-sessions-evolve.js';
import { decodeEvent } from '../../projections/runtime/decode-event.js';
import type { DecodedEvent } from '../../projections/runtime/types.js';

const A = 'pc-1' as AgentId;
const tech = { userId: 'u-1', userName: 'tech', role: 'admin' };
let seq = 0;
function decoded(subject: string, m: ReturnType<typeof message>): DecodedEvent {
  const d = decodeEvent(subject, ++seq, encode(m));
  assert.ok(d.ok, d.ok ? '' : d.error.message);
  return d.value;
}
const audit = (type: string, cs: string, at: number, details: object = {}, win = 0) =>
  decoded(subjects.audit(type), message({ audit: { eventType: type, connectSessionId: cs, windowsSessionId: win, detailsJson: JSON.stringify(details) } }, { agentId: A, actor: tech, atMs: at }));
const switched = (viewer: string, to: number, ok = true) =>
  decoded(subjects.agentEvent(A, 'switched'), message({ sessionSwitched: { ok, viewerId: viewer, toSessionId: to } }, { agentId: A, atMs: 50 }));

const given = (...earlier: DecodedEvent[]) => ({
  when: (...events: DecodedEvent[]) => ({
    thenState: (expected: Partial<ConnectSessionState> | undefined) => {
      const state = [...earlier, ...events].reduce<ConnectSessionState | undefined>(evolveConnectSession, undefined);
      if (expected === undefined) return assert.equal(state, undefined);
      assert.ok(state);
      assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, state[k as keyof ConnectSessionState]])), expected);
    },
  }),
});

describe('connect_sessions fold', () => {
  it('reads only audit events and switch results; the rest of the stream is skipped undecoded', () => {
    const rel = connectSessionsProjection.relevant!;
    assert.deepEqual(
      [subjects.audit('viewer_joined'), subjects.agentEvent(A, 'switched'), subjects.agentEvent(A, 'status'), subjects.agentEvent(A, 'sessions'), subjects.command(A, 'switchSession')].map(rel),
      [true, true, false, false, false],
    );
  });

  it('viewer_joined opens a row with who, where and what kind', () => {
    given()
      .when(audit('viewer_joined', 'cs-1', 10, { session_type: 'view_only' }, 2))
      .thenState({
        id: 'cs-1',
        agent_id: A,
        user_id: 'u-1',
        user_name: 'tech',
        session_type: 'view_only',
        windows_session_id: 2,
        started_at: new Date(10),
        ended_at: null,
      });
  });

  it('an unknown session type falls back to screen control', () => {
    given()
      .when(audit('viewer_joined', 'cs-1', 10, { session_type: 'telepathy' }, 1))
      .thenState({ session_type: 'screen_control' });
  });

  it('an ok switch moves the viewer; a failed one does not', () => {
    given(audit('viewer_joined', 'cs-1', 10, {}, 1))
      .when(switched('cs-1', 3), switched('cs-1', 7, false))
      .thenState({ windows_session_id: 3 });
  });

  it('viewer_left closes the row and keeps when it started', () => {
    given(audit('viewer_joined', 'cs-1', 10, {}, 1))
      .when(audit('viewer_left', 'cs-1', 99))
      .thenState({ started_at: new Date(10), ended_at: new Date(99) });
  });

  it('backstage entered then exited back to screen control reopens screen control on the given session', () => {
    given(audit('viewer_joined', 'cs-1', 10, {}, 1), audit('backstage_entered', 'cs-1', 20))
      .when(audit('backstage_exited', 'cs-1', 30, { session_type: 'screen_control' }, 2))
      .thenState({ session_type: 'screen_control', windows_session_id: 2, ended_at: null });
  });

  it('backstage exited without a way back ends the row', () => {
    given(audit('backstage_entered', 'cs-2', 20))
      .when(audit('backstage_exited', 'cs-2', 30))
      .thenState({ session_type: 'backstage', windows_session_id: 0, ended_at: new Date(30) });
  });

  it('events about no viewer have no key and change nothing', () => {
    const login = audit('login', '', 5);
    assert.equal(connectSessionKey(login), undefined);
    given()
      .when(login, switched('cs-9', 2, false))
      .thenState(undefined);
  });
});
