/**
 * The generic projection worker: a durable pull consumer fed by callback into one queue, and one
 * writer loop that commits batches (rows + checkpoint in one transaction) and then acks them.
 */
import { type ConsumerMessages, type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import type { Result } from '../../proto/errors.js';
import type { Database } from '../../infra/db/schema.js';
import { Streams } from '../../proto/subjects.js';
import { applyBatch } from './apply-batch.js';
import { decodeDelivered } from './decode-event.js';
import { deliveryOf } from './delivery.js';
import { ensureDurable } from './durable.js';
import { RateMeter } from './rate.js';
import type { DecodedEvent, ProjectionDef, ProjectionStats, ProjectionWorker } from './types.js';

export interface ProjectionOptions {
  nc: NatsConnection;
  db: Kysely<Database>;
  /**
   * Most events per transaction. Batches are whatever is queued when the writer is free: one event
   * when idle (lowest latency), growing to this under load so folding by key pays off.
   */
  batchSize?: number;
  /** How long a partial batch waits for more events (0 = commit what is there: lowest latency). */
  maxWaitMs?: number;
  /** Bounds what the server hands us while Postgres is slow or down. */
  maxAckPending?: number;
  ackWaitMs?: number;
  log?: (line: string) => void;
}

export const projectionDefaults = { batchSize: 5000, maxWaitMs: 0, maxAckPending: 20_000, ackWaitMs: 60_000 } as const;

interface Queued {
  m: JsMsg;
  /** From the ack subject, parsed once (delivery.ts); nats.js would parse it again on every access. */
  seq: number;
  dseq: number;
  pending: number;
  /** undefined: not relevant to this projection (never decoded). */
  d: Result<DecodedEvent> | undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Starts a worker for `def`; resolves once it consumes. Never throws after that: errors go to stats. */
export async function startProjection(def: ProjectionDef, opts: ProjectionOptions): Promise<ProjectionWorker> {
  const o = { ...projectionDefaults, ...opts };
  const log = opts.log ?? (() => {});
  const js = jetstream(opts.nc);
  let jsm: JetStreamManager | undefined;
  const rate = new RateMeter();
  const st: ProjectionStats = { name: def.name, applied: 0, skipped: 0, undecodable: 0, dbErrors: 0, quarantined: 0, resyncs: 0, checkpoint: 0, eventsPerSec: 0, lag: 0, paused: false };
  // Decoded on arrival, so decoding overlaps the writer's wait on Postgres.
  let queue: Queued[] = [];
  let wake: (() => void) | undefined;
  let messages: ConsumerMessages | undefined;
  let generation = 0;
  let lastDseq = 0;
  let serverPending = 0;
  let stopping = false;

  const waitForWork = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(() => {
        wake = undefined;
        r();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = undefined;
        r();
      };
    });

  async function readCheckpoint(): Promise<number> {
    const row = await opts.db.selectFrom('projection_checkpoints').select('last_seq').where('name', '=', def.name).executeTakeFirst();
    return Number(row?.last_seq ?? 0);
  }

  /** (Re)creates the durable at the checkpoint and starts consuming; retries until it works or we stop. */
  async function open(force: boolean): Promise<boolean> {
    for (let attempt = 0; !stopping; attempt++) {
      try {
        jsm ??= await jetstreamManager(opts.nc);
        st.checkpoint = await readCheckpoint();
        await ensureDurable(jsm, def, st.checkpoint, o, force);
        const consumer = await js.consumers.get(Streams.events.name, def.name);
        const gen = ++generation;
        lastDseq = 0;
        messages = await consumer.consume({
          max_messages: Math.max(2 * o.batchSize, 256),
          callback: (m) => {
            if (gen !== generation) return;
            const at = deliveryOf(m);
            if (!at.ok) {
              // Cannot come from the server we asked (nor be acked); nats.js would have stopped consuming.
              log(`projection ${def.name}: ignored a message on ${m.subject}: ${at.error.message}`);
              return;
            }
            const { streamSeq: seq, deliverySeq: dseq, pending, streamMs } = at.value;
            queue.push({ m, seq, dseq, pending, d: def.relevant && !def.relevant(m.subject) ? undefined : decodeDelivered(m.subject, seq, m.data, streamMs) });
            wake?.();
          },
        });
        return true;
      } catch (e) {
        st.lastError = (e as Error).message;
        log(`projection ${def.name}: start failed (${st.lastError}); retrying`);
        await sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
    return false;
  }

  /** Index of the first message after a lost delivery, or -1. */
  function findGap(batch: Queued[]): number {
    for (let i = 0; i < batch.length; i++) {
      const d = batch[i]!.dseq;
      if (lastDseq !== 0 && d !== lastDseq + 1) return i;
      lastDseq = d;
    }
    return -1;
  }

  async function commit(batch: Queued[]): Promise<void> {
    const events: DecodedEvent[] = [];
    const bad: Array<[JsMsg, string]> = [];
    let top = batch[0]!;
    for (const q of batch) {
      const { m, d } = q;
      if (q.seq > top.seq) top = q;
      if (!d) continue;
      if (d.ok) events.push(d.value);
      else bad.push([m, d.error.message]);
    }
    for (let attempt = 0; ; attempt++) {
      const r = await applyBatch(opts.db, def, events, top.seq);
      if (r.ok) {
        st.applied += r.value.applied;
        st.skipped += r.value.skipped;
        st.checkpoint = r.value.checkpoint;
        st.quarantined += r.value.quarantined.length;
        for (const q of r.value.quarantined) log(`projection ${def.name}: quarantined seq ${q.seq} (${q.subject}): ${q.errorCode} ${q.errorMessage}`);
        rate.add(r.value.applied);
        break;
      }
      st.dbErrors++;
      st.lastError = r.error.message;
      st.paused = true;
      if (stopping && attempt >= 2) {
        // Giving up on stop: leave everything unacked; the next worker starts at the checkpoint.
        queue = [];
        return;
      }
      // Only transient failures come here (a deterministic one is quarantined inside applyBatch).
      // Retry the same batch in place rather than nak: a nak'd message would come back behind newer
      // ones, and once those committed the checkpoint would skip it. working() keeps it ours.
      for (const q of batch) q.m.working();
      log(`projection ${def.name}: ${r.error.message}; retry ${attempt + 1}`);
      await sleep(Math.min(5000, 100 * 2 ** attempt));
    }
    st.paused = false;
    for (const [m, why] of bad) {
      st.undecodable++;
      m.term(why.slice(0, 200));
    }
    // Ack-all: acking the highest stream sequence acks every message of the batch.
    top.m.ack();
    serverPending = top.pending;
  }

  async function resync(): Promise<void> {
    st.resyncs++;
    log(`projection ${def.name}: delivery gap, repositioning at checkpoint`);
    generation++;
    queue = [];
    await Promise.race([messages?.close().catch(() => {}), sleep(1000)]);
    await open(true);
  }

  async function loop(): Promise<void> {
    while (true) {
      if (queue.length === 0) {
        if (stopping) return;
        await waitForWork(250);
        continue;
      }
      if (o.maxWaitMs > 0 && queue.length < o.batchSize && !stopping) await sleep(o.maxWaitMs);
      const batch = queue.splice(0, o.batchSize);
      const gap = findGap(batch);
      const take = gap >= 0 ? batch.slice(0, gap) : batch;
      try {
        if (take.length > 0) await commit(take);
        if (gap >= 0 && !stopping) await resync();
      } catch (e) {
        // Only a bug lands here; keep the worker alive and let redelivery bring the batch back.
        st.lastError = (e as Error).message;
        log(`projection ${def.name}: unexpected ${st.lastError}`);
        if (!stopping) await resync();
      }
    }
  }

  await open(false);
  const done = loop();

  return {
    name: def.name,
    stats: () => ({ ...st, eventsPerSec: rate.perSec(), lag: serverPending + queue.length }),
    async caughtUp(seq, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      while (st.checkpoint < seq) {
        if (Date.now() > until) return false;
        await sleep(10);
      }
      return true;
    },
    async stop() {
      stopping = true;
      // A dead connection never confirms the close; do not wait for it.
      await Promise.race([messages?.close().catch(() => {}), sleep(1000)]);
      generation++;
      wake?.();
      await done;
    },
  };
}
