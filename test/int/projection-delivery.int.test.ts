/** deliveryOf on real deliveries: what the projection worker reads from an ack subject is what nats.js reads. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, type JsMsg, jetstreamManager } from '@nats-io/jetstream';
import { encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { deliveryOf } from '../../projections/runtime/delivery.js';
import { streamTimeMs } from '../../projections/runtime/decode-event.js';
import { type Backbone, startBackbone } from '../support/servers.js';

describe('deliveryOf (real nats-server)', () => {
  let b: Backbone;
  before(async () => {
    b = await startBackbone();
  });
  after(async () => {
    await b?.stop();
  });

  it('agrees with nats.js on every delivery of a durable, redeliveries included', async () => {
    const A = 'delivery-agent' as AgentId;
    for (let i = 0; i < 20; i++) await b.js.publish(subjects.agentEvent(A, 'status'), encode(message({ agentStatus: { version: `${i}` } }, { agentId: A })));
    const jsm = await jetstreamManager(b.nc);
    await jsm.consumers.add(Streams.events.name, { durable_name: 'delivery-test', ack_policy: AckPolicy.Explicit, filter_subject: subjects.agentEvent(A, 'status') });
    const consumer = await b.js.consumers.get(Streams.events.name, 'delivery-test');
    const seen: JsMsg[] = [];
    for (let round = 0; round < 2; round++) {
      const it = await consumer.fetch({ max_messages: 20, expires: 2000 });
      for await (const m of it) {
        seen.push(m);
        if (round === 0) m.nak();
        else m.ack();
        if (seen.length === 20 * (round + 1)) break;
      }
    }
    assert.equal(seen.length, 40);
    assert.ok(seen.some((m) => m.redelivered));
    for (const m of seen) {
      const d = deliveryOf(m);
      assert.ok(d.ok, d.ok ? '' : d.error.message);
      assert.deepEqual(d.value, { streamSeq: m.seq, deliverySeq: m.info.deliverySequence, pending: m.info.pending, streamMs: streamTimeMs(m.timestampNanos) });
    }
  });

  it('falls back to nats.js when a message does not show its ack subject', () => {
    const m = { info: { streamSequence: 5, deliverySequence: 2, pending: 9 }, timestampNanos: 1_700_000_000_000_999_999n } as unknown as JsMsg;
    assert.deepEqual(deliveryOf(m), { ok: true, value: { streamSeq: 5, deliverySeq: 2, pending: 9, streamMs: 1_700_000_000_000 } });
  });
});
