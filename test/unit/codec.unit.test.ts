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

  it('reads strings exactly as UTF-8 says and refuses a message holding bytes that are not UTF-8', () => {
    // A 3-byte placeholder user name, overwritten with the bytes under test.
    const withName = (bytes: number[]) => {
      const b = encode(message({ sessionList: { sessions: [{ sessionId: 1, userName: 'Q'.repeat(bytes.length) }] } }, { agentId: 'agent-1' }));
      const at = Buffer.from(b).indexOf('Q'.repeat(bytes.length));
      b.set(bytes, at);
      return decode(b, 'gc.agent.agent-1.sessions');
    };
    const name = (r: ReturnType<typeof decode>) => (r.ok ? r.value.sessionList?.sessions?.[0]?.userName : r.error.code);
    assert.equal(name(withName([0x61, 0x00, 0x7f])), 'a\0\x7f', 'NUL and DEL are ASCII');
    assert.equal(name(withName([0x61, 0xc3, 0xa9])), 'aé', 'an ASCII start then a two-byte character');
    assert.equal(name(withName([0xf0, 0x9f, 0x98, 0x80])), '\ud83d\ude00');
    for (const bad of [[0xed, 0xa0, 0x80], [0x61, 0xc3], [0xc0, 0xaf], [0xff], [0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x80]]) {
      assert.equal(name(withName(bad)), 'MALFORMED_MESSAGE', `bytes ${bad.map((x) => x.toString(16)).join(' ')}`);
    }
    for (const text of ['x'.repeat(100_000), `${'x'.repeat(63)}é`, '\0'.repeat(64), 'Windows 11 23H2']) {
      const bytes = encode(message({ agentStatus: { hostname: text, osVersion: text } }, { agentId: 'agent-1' }));
      // A Buffer (protobufjs' own reader) and a plain Uint8Array view, as a NATS delivery hands it over.
      for (const b of [Buffer.from(bytes), new Uint8Array(Buffer.concat([Buffer.from([9]), bytes])).subarray(1)]) {
        const r = decode(b, 'gc.agent.agent-1.status');
        assert.ok(r.ok);
        assert.deepEqual([r.value.agentStatus?.hostname, r.value.agentStatus?.osVersion], [text, text]);
      }
    }
  });

  it('refuses oversized messages', () => {
    const r = decode(new Uint8Array(2 * 1024 * 1024));
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'PAYLOAD_TOO_LARGE');
  });
});
