/** The projection's durable pull consumer, kept positioned at the Postgres checkpoint. */
import { AckPolicy, type ConsumerConfig, DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { Streams } from '../../proto/subjects.js';
import type { ProjectionDef } from './types.js';

export interface DurableOptions {
  maxAckPending: number;
  ackWaitMs: number;
}

function config(def: ProjectionDef, fromSeq: number, o: DurableOptions): Partial<ConsumerConfig> {
  const c: Partial<ConsumerConfig> = {
    durable_name: def.name,
    // Ack-all per batch: 3x the throughput of explicit acks (shared/notes); the writer acks the
    // highest sequence it committed.
    ack_policy: AckPolicy.All,
    max_ack_pending: o.maxAckPending,
    ack_wait: o.ackWaitMs * 1_000_000,
    deliver_policy: fromSeq > 1 ? DeliverPolicy.StartSequence : DeliverPolicy.All,
    ...(fromSeq > 1 ? { opt_start_seq: fromSeq } : {}),
  };
  if (def.filterSubject) c.filter_subject = def.filterSubject;
  return c;
}

/**
 * Creates the durable if missing. If it exists but is out of step with the checkpoint (delivered
 * and unacked messages from a dead worker, or acked past the checkpoint), it is recreated at
 * checkpoint + 1: otherwise those messages would come back only after ack_wait, behind newer ones,
 * and the checkpoint would already have passed them.
 */
export async function ensureDurable(jsm: JetStreamManager, def: ProjectionDef, checkpoint: number, o: DurableOptions, force = false): Promise<void> {
  const stream = Streams.events.name;
  let info: Awaited<ReturnType<JetStreamManager['consumers']['info']>> | undefined;
  try {
    info = await jsm.consumers.info(stream, def.name);
  } catch (e) {
    if (!/not found/i.test((e as Error).message)) throw e;
  }
  const sameFilter = info && (info.config.filter_subject ?? '') === (def.filterSubject ?? '');
  const inStep = info && info.num_ack_pending === 0 && info.delivered.stream_seq === info.ack_floor.stream_seq && info.ack_floor.stream_seq <= checkpoint && info.config.ack_policy === AckPolicy.All;
  if (info && sameFilter && inStep && !force) return;
  if (info) await jsm.consumers.delete(stream, def.name);
  await jsm.consumers.add(stream, config(def, checkpoint + 1, o));
}
