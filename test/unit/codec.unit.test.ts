import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode, message, pb } from '../../proto/codec.js';

describe('codec', () => {
  const list = message({ sessionList: { sessions: [{ sessionId: 1, userName: 'jdoe', state: pb.SessionState.SESSION_ACTIVE }], currentSessionId: 1 } }, { agentId: 'a1' });

  it('round-trips a SessionList on its subject', () => {
    const r = decode(encode(list), 'gc.agent.a1.sessions');
    assert.ok(r.ok);
    if (r.ok) {
      assert.equal(r.value.payload, 'sessionList');
      assert.equal(r.value.sessionList?.sessions?.[0]?.userName, 'jdoe');
    }
  });

  it('refuses a payload on the wrong subject', () => {
    const r = decode(encode(list), 'gc.agent.a1.status');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'MALFORMED_MESSAGE');
  });

  it('refuses a message that speaks for another agent', () => {
    const r = decode(encode(list), 'gc.agent.a2.sessions');
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.message, /does not match subject agent/);
  });

  it('refuses garbage and truncated bytes without throwing', () => {
    const bytes = encode(list);
    for (const b of [new Uint8Array([0xff, 0xff, 0xff]), bytes.subarray(0, bytes.length - 3), new Uint8Array(0)]) {
      const r = decode(b);
      assert.equal(r.ok, false);
    }
  });

  it('writes a lone surrogate as U+FFFD, so one odd string (a Windows command line, an RDP client name) does not lose the whole message', () => {
    const odd = ['\ud800', 'a\udc00b', `${'x'.repeat(38)}\ud83d`, `\ude00${'y'.repeat(100_000)}`, 'ok \ud83d\ude00', '\0\ud800\0'];
    const bytes = encode(message({ sessionList: { sessions: odd.map((userName, i) => ({ sessionId: i + 1, userName, clientName: userName })) } }, { agentId: 'agent-1' }));
    const r = decode(bytes, 'gc.agent.agent-1.sessions');
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual(
      (r.value.sessionList?.sessions ?? []).map((s) => s.userName),
      odd.map((s) => (s as string & { toWellFormed(): string }).toWellFormed()),
    );
    assert.equal(r.value.sessionList?.sessions?.[4]?.clientName, 'ok \ud83d\ude00', 'a valid pair stays as it is');
  });

  it('refuses oversized messages', () => {
    const r = decode(new Uint8Array(2 * 1024 * 1024));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'PAYLOAD_TOO_LARGE');
  });
});
