/**
 * Property-based fuzzing of every decoder the system runs on untrusted bytes or JSON: the Message
 * codec, the projections' event decoder and the viewer WebSocket schema. None may throw; valid input
 * must round-trip.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { projections } from '../../projections/all.js';
import { decodeEvent } from '../../projections/runtime/decode-event.js';
import { MAX_MESSAGE_BYTES, decode, encode, message } from '../../proto/codec.js';
import { clientMessageSchema } from '../../services/gateway/ws/protocol.js';

const agentId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const anyText = fc.string({ unit: 'binary', maxLength: 200 });
const session = fc.record({
  sessionId: fc.integer({ min: 0, max: 0xffffffff }),
  userName: anyText,
  state: fc.constantFrom(0, 1, 2),
  type: fc.constantFrom(0, 1, 2),
  stationName: anyText,
  capturable: fc.boolean(),
});
const subjectsOf = (a: string) => [
  `gc.agent.${a}.status`,
  `gc.agent.${a}.sessions`,
  `gc.agent.${a}.switched`,
  `gc.agent.${a}.backstage.output`,
  `gc.cmd.${a}.backstage`,
  `gc.cmd.${a}.switch-session`,
  'gc.audit.login',
];

describe('fuzz: proto/codec decode', () => {
  it('never throws on arbitrary bytes, and either decodes or says why', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.option(fc.string(), { nil: undefined }), (bytes, subject) => {
        const r = decode(bytes, subject);
        if (!r.ok) assert.ok(r.error.code && r.error.message);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on truncated or bit-flipped valid messages', () => {
    fc.assert(
      fc.property(agentId, fc.array(session, { maxLength: 20 }), fc.nat(), fc.nat(), (a, sessions, cut, flip) => {
        const bytes = encode(message({ sessionList: { sessions } }, { agentId: a }));
        const truncated = bytes.slice(0, cut % (bytes.length + 1));
        const flipped = Uint8Array.from(bytes);
        if (flipped.length) flipped[flip % flipped.length]! ^= 1 << (flip % 8);
        for (const b of [truncated, flipped]) {
          const r = decode(b, `gc.agent.${a}.sessions`);
          assert.equal(typeof r.ok, 'boolean');
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('round-trips a session list, including every kind of Unicode in user names', () => {
    fc.assert(
      fc.property(agentId, fc.array(session, { maxLength: 30 }), (a, sessions) => {
        const msg = message({ sessionList: { sessions, currentSessionId: 1 } }, { agentId: a });
        const r = decode(encode(msg), `gc.agent.${a}.sessions`);
        assert.ok(r.ok, r.ok ? '' : r.error.message);
        assert.equal(r.value.payload, 'sessionList');
        assert.equal(r.value.sessionList!.sessions!.length, sessions.length);
        for (const [i, s] of sessions.entries()) {
          // Lone surrogates cannot be UTF-8: the codec replaces them, as TextEncoder does.
          assert.equal(r.value.sessionList!.sessions![i]!.userName, Buffer.from(s.userName, 'utf8').toString('utf8'));
          assert.equal(r.value.sessionList!.sessions![i]!.sessionId, s.sessionId);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a payload on the wrong subject or for another agent, and oversize bytes', () => {
    fc.assert(
      fc.property(agentId, agentId, (a, b) => {
        const status = encode(message({ agentStatus: { hostname: 'h' } }, { agentId: a }));
        assert.equal(decode(status, `gc.agent.${a}.sessions`).ok, false);
        if (a !== b) assert.equal(decode(status, `gc.agent.${b}.status`).ok, false);
        assert.equal(decode(status, `gc.agent.${a}.status`).ok, true);
      }),
      { numRuns: 300 },
    );
    const big = decode(new Uint8Array(MAX_MESSAGE_BYTES + 1));
    assert.equal(big.ok ? '' : big.error.code, 'PAYLOAD_TOO_LARGE');
  });
});

describe('fuzz: projections decodeEvent', () => {
  it('never throws on arbitrary subjects and bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          agentId.chain((a) => fc.constantFrom(...subjectsOf(a))),
        ),
        fc.uint8Array({ maxLength: 1024 }),
        fc.nat(),
        (subject, bytes, seq) => {
          const r = decodeEvent(subject, seq, bytes);
          assert.equal(typeof r.ok, 'boolean');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('round-trips valid events and the pure folds accept them', () => {
    fc.assert(
      fc.property(agentId, fc.array(session, { maxLength: 10 }), fc.integer({ min: 1, max: 1e9 }), (a, sessions, seq) => {
        const msg = message({ agentStatus: { hostname: 'h', heartbeatIntervalMs: 1000, sessions: { sessions } } }, { agentId: a });
        const r = decodeEvent(`gc.agent.${a}.status`, seq, encode(msg));
        assert.ok(r.ok);
        assert.equal(r.value.seq, seq);
        assert.equal(r.value.msg.meta.id, msg.meta!.id);
        assert.deepEqual(r.value.parsed, { family: 'agent', agentId: a, kind: 'status' });
      }),
      { numRuns: 500 },
    );
    assert.ok(projections.length > 0);
  });
});

describe('fuzz: viewer WebSocket clientMessageSchema', () => {
  it('never throws on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = clientMessageSchema.safeParse(v);
        assert.equal(typeof r.success, 'boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on objects that look like messages with wrong fields', () => {
    const t = fc.constantFrom('watch', 'switch', 'input', 'keyframe', 'sessions', 'backstage.enter', 'backstage.exec', 'backstage.kill', 'nope');
    fc.assert(
      fc.property(t, fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue()), (tag, rest) => {
        const r = clientMessageSchema.safeParse({ ...rest, t: tag });
        if (r.success) assert.equal(r.data.t, tag);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts and round-trips valid switch and input messages', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: 0, max: 7 }), (sid, x, buttons) => {
        const sw = { t: 'switch', session_id: sid, req: 'r1' };
        assert.deepEqual(clientMessageSchema.parse(JSON.parse(JSON.stringify(sw))), sw);
        const input = { t: 'input', session_id: sid, mouse: { x, y: x, buttons } };
        assert.deepEqual(clientMessageSchema.parse(input), input);
      }),
      { numRuns: 500 },
    );
    assert.equal(clientMessageSchema.safeParse({ t: 'switch', session_id: -1 }).success, false);
    assert.equal(clientMessageSchema.safeParse({ t: 'input', session_id: 1, mouse: { x: 0, y: 0, buttons: 8 } }).success, false);
  });
});
