/** decodeEvent: what the projection worker accepts from the stream, and what it refuses. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../proto/errors.js';
import { encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { decodeDelivered, decodeEvent } from '../../projections/runtime/decode-event.js';

const A = 'pc-1' as AgentId;
const list = encode(message({ sessionList: { sessions: [] } }, { agentId: A, atMs: 42 }));

describe('decodeEvent', () => {
  it('decodes a payload that belongs on its subject, with its position and time', () => {
    const d = decodeEvent(subjects.agentEvent(A, 'sessions'), 9, list);
    assert.ok(d.ok);
    assert.deepEqual([d.value.seq, d.value.parsed, d.value.msg.payload, d.value.atMs], [9, { family: 'agent', agentId: A, kind: 'sessions' }, 'sessionList', 42]);
  });

  it('refuses a payload on the wrong subject, another agent’s message, garbage and foreign subjects (also when repeated)', () => {
    for (let round = 0; round < 2; round++) {
      const cases = [
        decodeEvent(subjects.agentEvent(A, 'status'), 1, list),
        decodeEvent(subjects.agentEvent('pc-2' as AgentId, 'sessions'), 1, list),
        decodeEvent(subjects.agentEvent(A, 'sessions'), 1, new Uint8Array([0xff, 0xff, 0x01])),
        decodeEvent('other.thing.here', 1, list),
      ];
      assert.deepEqual(
        cases.map((c) => (c.ok ? 'ok' : c.error.code)),
        [ErrorCode.MALFORMED_MESSAGE, ErrorCode.MALFORMED_MESSAGE, ErrorCode.MALFORMED_MESSAGE, ErrorCode.INVALID_ID],
      );
    }
  });
});

describe('decodeDelivered (shared by the projections of one process)', () => {
  const delivered = (subject: string, seq: number, data: Uint8Array) => decodeDelivered(subject, seq, data, 1_700_000_000_000);

  it('decodes an event once for every projection that receives it', () => {
    const subject = subjects.agentEvent(A, 'sessions');
    const first = delivered(subject, 501, Uint8Array.from(list));
    const again = delivered(subject, 501, Uint8Array.from(list));
    assert.ok(first.ok);
    assert.equal(again, first, 'the second consumer gets the same decoded event');
  });

  it('never serves a stale decode when a sequence comes back with other bytes or on another subject', () => {
    const subject = subjects.agentEvent(A, 'sessions');
    const a = delivered(subject, 777, list);
    const other = encode(message({ sessionList: { sessions: [{ sessionId: 3, userName: 'bob' }] } }, { agentId: A, atMs: 43 }));
    const b = delivered(subject, 777, other); // a recreated stream reuses sequence numbers
    assert.ok(a.ok && b.ok);
    assert.notEqual(b, a);
    assert.equal(b.value.msg.sessionList?.sessions?.[0]?.userName, 'bob');
    const c = delivered(subjects.agentEvent(A, 'status'), 777, other);
    assert.equal(!c.ok && c.error.code, ErrorCode.MALFORMED_MESSAGE, 'checked against its own subject');
  });
});
