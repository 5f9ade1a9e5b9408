/** parseDelivery: a JetStream ack subject read in place, the way nats.js reads it, with exact stream times. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDelivery } from '../../projections/runtime/delivery.js';

const modern = (sseq: string, dseq: string, ns: string, pending: string, tail = '.AbCdEf') => `$JS.ACK.hub.ACCHASH.GC_EVENTS.machines.1.${sseq}.${dseq}.${ns}.${pending}${tail}`;

describe('parseDelivery', () => {
  it('reads the stream and delivery sequence, pending count and stored time of both subject shapes', () => {
    const want = { streamSeq: 120, deliverySeq: 7, pending: 42, streamMs: 1_765_000_000_123 };
    assert.deepEqual(parseDelivery(modern('120', '7', '1765000000123456789', '42')), { ok: true, value: want });
    assert.deepEqual(parseDelivery(modern('120', '7', '1765000000123456789', '42', '')), { ok: true, value: want }, 'without the random token');
    assert.deepEqual(parseDelivery('$JS.ACK.GC_EVENTS.machines.1.120.7.1765000000123456789.42'), { ok: true, value: want }, 'the 9-token shape of servers before 2.9');
    assert.deepEqual(parseDelivery('$JS.ACK._.ACCHASH.GC_EVENTS.machines.3.1.1.1765000000123456789.0.x'), {
      ok: true,
      value: { streamSeq: 1, deliverySeq: 1, pending: 0, streamMs: 1_765_000_000_123 },
    });
  });

  it('reads each subject on its own, whatever shape came before (its dots are kept in one scratch array)', () => {
    const want = { streamSeq: 120, deliverySeq: 7, pending: 42, streamMs: 1_765_000_000_123 };
    const long = `${modern('5', '6', '1765000000999000000', '8')}${'.t'.repeat(40)}`;
    const shapes = [long, '$JS.ACK.GC_EVENTS.machines.1.120.7.1765000000123456789.42', long, modern('120', '7', '1765000000123456789', '42', ''), long];
    const got = shapes.map((s) => parseDelivery(s));
    assert.deepEqual(got[0], { ok: true, value: { streamSeq: 5, deliverySeq: 6, pending: 8, streamMs: 1_765_000_000_999 } }, 'tokens past the twelfth are ignored, as before');
    assert.deepEqual(
      [got[1], got[3]],
      [
        { ok: true, value: want },
        { ok: true, value: want },
      ],
    );
    assert.deepEqual([got[2], got[4]], [got[0], got[0]]);
    assert.equal(parseDelivery('$JS.ACK.GC_EVENTS.machines.1.1.1.1765000000123456789').ok, false, 'a short subject after a long one is still short');
  });

  it('cuts nanoseconds to ms exactly where a float would round across a ms', () => {
    // As a double, 1700000000000999999 is 1700000000001000000: one ms later.
    assert.notEqual(Math.floor(Number('1700000000000999999') / 1e6), 1_700_000_000_000);
    const r = parseDelivery(modern('1', '1', '1700000000000999999', '0'));
    assert.equal(r.ok && r.value.streamMs, 1_700_000_000_000);
    const tiny = parseDelivery(modern('1', '1', '999999', '0'));
    assert.equal(tiny.ok && tiny.value.streamMs, 0, 'under a ms since the epoch');
    const zero = parseDelivery(modern('1', '1', '0', '0'));
    assert.equal(zero.ok && zero.value.streamMs, 0);
  });

  it('takes sequences up to 2^53 - 1 and refuses what a number cannot hold exactly', () => {
    const big = parseDelivery(modern(String(2 ** 53 - 1), String(2 ** 32 - 1), '1765000000123456789', String(2 ** 31 - 1)));
    assert.deepEqual(big.ok && [big.value.streamSeq, big.value.deliverySeq, big.value.pending], [2 ** 53 - 1, 2 ** 32 - 1, 2 ** 31 - 1]);
    for (const n of ['9007199254740992', '9223372036854775807', '18446744073709551615']) assert.equal(parseDelivery(modern(n, '1', '1765000000123456789', '0')).ok, false, n);
    assert.equal(parseDelivery(modern('1', '1', '99999999999999999999999', '0')).ok, false, 'a time past 2^53 ms');
  });

  it('refuses what is not a JetStream delivery', () => {
    const bad = [
      '',
      '_INBOX.abc.def',
      '$JS.ACK',
      '$JS.ACK.',
      '$JS.API.hub.ACCHASH.GC_EVENTS.machines.1.1.1.1765000000123456789.0.x',
      '$js.ack.hub.ACCHASH.GC_EVENTS.machines.1.1.1.1765000000123456789.0.x',
      '$JS.ACK.GC_EVENTS.machines.1.1.1.1765000000123456789', // 8 tokens
      '$JS.ACK.hub.GC_EVENTS.machines.1.1.1.1765000000123456789.0', // 10 tokens
      modern('-1', '1', '1765000000123456789', '0'),
      modern('1', '', '1765000000123456789', '0'),
      modern('1', '1', '', '0'),
      modern('1', '1', '1765000000123456789', 'x'),
      modern('1e3', '1', '1765000000123456789', '0'),
      modern('1', '1', '17650000001234567a9', '0'),
      modern('1', '1', '1765000000123456789 ', '0'),
      modern('1\u0000', '1', '1765000000123456789', '0'),
      modern('\ud800', '1', '1765000000123456789', '0'),
      modern('1'.repeat(100_000), '1', '1765000000123456789', '0'),
    ];
    for (const s of bad) assert.equal(parseDelivery(s).ok, false, JSON.stringify(s.slice(0, 80)));
  });
});
