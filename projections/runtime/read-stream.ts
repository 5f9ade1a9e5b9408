/** Reads the event stream from a sequence with an ordered consumer, in bounded batches (fetch). */
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Streams } from '../../proto/subjects.js';

export interface RawEvent {
  seq: number;
  subject: string;
  data: Uint8Array;
  /** When the stream stored it, ms since epoch (the trusted clock). */
  timeMs: number;
}

export interface ReadStreamOptions {
  filterSubject?: string;
  fromSeq?: number;
  /** Stop after this sequence; default: the stream's last sequence when reading starts. */
  toSeq?: number;
  batch?: number;
}

/** Calls `onBatch` for each batch in order; returns the last sequence read (0 if none). */
export async function readStream(nc: NatsConnection, o: ReadStreamOptions, onBatch: (b: RawEvent[]) => Promise<void> | void): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(Streams.events.name);
  const from = Math.max(o.fromSeq ?? 1, info.state.first_seq);
  const to = o.toSeq ?? info.state.last_seq;
  if (to < from || info.state.messages === 0) return 0;
  const js = jetstream(nc);
  const consumer = await js.consumers.get(Streams.events.name, {
    ...(o.filterSubject ? { filter_subjects: o.filterSubject } : {}),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  let last = 0;
  for (;;) {
    const it = await consumer.fetch({ max_messages: o.batch ?? 2000, expires: 2000 });
    const batch: RawEvent[] = [];
    let drained = false;
    for await (const m of it) {
      if (m.seq > to) { drained = true; break; }
      batch.push({ seq: m.seq, subject: m.subject, data: m.data, timeMs: Number(m.timestampNanos / 1_000_000n) });
      if (m.seq >= to || m.info.pending === 0) { drained = true; break; }
    }
    if (batch.length > 0) {
      last = batch[batch.length - 1]!.seq;
      await onBatch(batch);
    }
    if (drained || batch.length === 0) break;
  }
  await consumer.delete().catch(() => {});
  return last;
}
