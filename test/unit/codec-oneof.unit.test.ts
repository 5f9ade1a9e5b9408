/**
 * The Message payload oneof after generated code's faster setter (proto/gen.ts): still one case at
 * a time, whether set in code or decoded from bytes that carry several (protobuf: the last wins).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';

const A = 'pc-1' as AgentId;
const own = (m: object) => Object.keys(m).filter((k) => k !== 'meta');

describe('Message payload oneof', () => {
  it('setting the case drops the field of another case the message holds', () => {
    const m = pb.Message.create({ agentStatus: { version: '1' }, sessionList: { sessions: [] } });
    m.payload = 'sessionList';
    assert.deepEqual(own(m), ['sessionList']);
    assert.equal(m.payload, 'sessionList');
  });

  it('decoding bytes that carry two cases keeps only the last, as protobuf merges them', () => {
    const status = encode(message({ agentStatus: { version: '1.4.2', hostname: 'h' } }, { agentId: A }));
    const list = encode(pb.Message.create({ sessionList: { currentSessionId: 3, sessions: [{ sessionId: 3, userName: 'bob' }] } }));
    const both = new Uint8Array([...status, ...list]);
    const d = decode(both);
    assert.ok(d.ok);
    assert.equal(d.value.payload, 'sessionList');
    assert.deepEqual(own(d.value), ['sessionList']);
    assert.equal(d.value.sessionList?.sessions?.[0]?.userName, 'bob');
    const back = decode(new Uint8Array([...list, ...status]));
    assert.ok(back.ok);
    assert.deepEqual([back.value.payload, own(back.value)], ['agentStatus', ['agentStatus']]);
  });

  it('a decoded message holds its one case and its meta, nothing else', () => {
    const d = decode(encode(message({ agentStatus: { version: '1' } }, { agentId: A })));
    assert.ok(d.ok);
    assert.deepEqual(Object.keys(d.value).sort(), ['agentStatus', 'meta']);
  });
});
