/**
 * Reads the event stream in order, in batches. Inside the application account (projections,
 * rebuild, the launcher) through an ordered consumer: the fastest read there is. Through the
 * readers' account (auditors) by direct get, many requests in flight: read-only and needing no
 * consumer, since readers can create none by design — slower per event (measured in the audit
 * bench), but it cannot be turned into a write.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { EventsApi, type EventsApiSubjects, Streams } from '../../proto/subjects.js';
import { streamTimeMs } from './decode-event.js';

export interface RawEvent {
  seq: number;
  subject: string;
  data: Uint8Array;
  /** When the stream stored it (the server's clock, not the producer's), ms since epoch. */
  timeMs: number;
}

export interface ReadStreamOptions {
  /** Only events on subjects this pattern matches (`*` one token, `>` the rest). */
  filterSubject?: string;
  fromSeq?: number;
  /** Stop after this sequence; default: the stream's last sequence when reading starts. */
  toSeq?: number;
  /** Events per onBatch call, all requested at once. */
  batch?: number;
  /** Which subjects reach the stream's API: the application account's own, or the readers' import. */
  api?: EventsApiSubjects;
  timeoutMs?: number;
}

export interface StreamState {
  firstSeq: number;
  lastSeq: number;
  messages: number;
}

const td = new TextDecoder();
const readDefaults: Required<Pick<ReadStreamOptions, 'batch' | 'timeoutMs'>> = { batch: 1000, timeoutMs: 10_000 };

/** The stream's first and last sequence, through `api`. */
export async function streamState(nc: NatsConnection, api: EventsApiSubjects = EventsApi.direct, timeoutMs = readDefaults.timeoutMs): Promise<Result<StreamState>> {
  try {
    const reply = await nc.request(api.info, new Uint8Array(), { timeout: timeoutMs });
    const info = JSON.parse(td.decode(reply.data)) as { error?: { description?: string }; state?: { first_seq: number; last_seq: number; messages: number } };
    if (info.error || !info.state) return err(ErrorCode.BUS_UNAVAILABLE, `the event stream did not answer with its state: ${info.error?.description ?? 'no state'}`);
    return ok({ firstSeq: info.state.first_seq, lastSeq: info.state.last_seq, messages: info.state.messages });
  } catch (e) {
    return err(ErrorCode.BUS_UNAVAILABLE, `cannot read the event stream's state (${(e as Error).message}); are these credentials allowed to read it?`);
  }
}

/** True when `subject` matches the NATS pattern `filter`. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/** `2026-12-07T03:12:33.548693944Z` → ms (Date.parse wants at most milliseconds). */
function parseStreamTime(t: string | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(ms) ? ms : 0;
}

/** One event by sequence, or undefined when the stream holds none there (aged out). */
async function getOne(nc: NatsConnection, api: EventsApiSubjects, seq: number, timeoutMs: number): Promise<RawEvent | undefined> {
  const m = await nc.request(api.get, new TextEncoder().encode(JSON.stringify({ seq })), { timeout: timeoutMs });
  const h = m.headers;
  if (h?.code === 404) return undefined;
  const subject = h?.get('Nats-Subject');
  if (!subject) throw new Error(`direct get of seq ${seq} answered ${h?.code ?? ''} ${h?.description ?? 'without a subject'}`);
  return { seq, subject, data: m.data, timeMs: parseStreamTime(h?.get('Nats-Time-Stamp')) };
}

/** Calls `onBatch` for each batch in order; returns the last sequence read (0 if none). */
export async function readStream(nc: NatsConnection, o: ReadStreamOptions, onBatch: (b: RawEvent[]) => Promise<void> | void): Promise<number> {
  const opts = { ...readDefaults, ...o };
  const api = o.api ?? EventsApi.direct;
  const state = await streamState(nc, api, opts.timeoutMs);
  if (!state.ok) throw new Error(state.error.message);
  const from = Math.max(o.fromSeq ?? 1, state.value.firstSeq, 1);
  const to = Math.min(o.toSeq ?? state.value.lastSeq, state.value.lastSeq);
  if (to < from || state.value.messages === 0) return 0;
  return api === EventsApi.reader ? readByDirectGet(nc, api, from, to, opts, onBatch) : readByOrderedConsumer(nc, from, to, opts, onBatch);
}

/** The application account's path: one ordered consumer, fetched in batches, deleted at the end. */
async function readByOrderedConsumer(nc: NatsConnection, from: number, to: number, o: ReadStreamOptions & typeof readDefaults, onBatch: (b: RawEvent[]) => Promise<void> | void): Promise<number> {
  const consumer = await jetstream(nc).consumers.get(Streams.events.name, {
    ...(o.filterSubject ? { filter_subjects: o.filterSubject } : {}),
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  let last = 0;
  try {
    for (;;) {
      const it = await consumer.fetch({ max_messages: o.batch, expires: 2000 });
      const batch: RawEvent[] = [];
      let drained = false;
      for await (const m of it) {
        if (m.seq > to) {
          drained = true;
          break;
        }
        batch.push({ seq: m.seq, subject: m.subject, data: m.data, timeMs: streamTimeMs(m.timestampNanos) });
        if (m.seq >= to || m.info.pending === 0) {
          drained = true;
          break;
        }
      }
      if (batch.length > 0) {
        last = batch[batch.length - 1]!.seq;
        await onBatch(batch);
      }
      if (drained || batch.length === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  return last;
}

/** The readers' path: direct get by sequence, a batch of requests in flight at a time. */
async function readByDirectGet(
  nc: NatsConnection,
  api: EventsApiSubjects,
  from: number,
  to: number,
  opts: ReadStreamOptions & typeof readDefaults,
  onBatch: (b: RawEvent[]) => Promise<void> | void,
): Promise<number> {
  let last = 0;
  for (let start = from; start <= to; start += opts.batch) {
    const end = Math.min(to, start + opts.batch - 1);
    const got = await Promise.all(Array.from({ length: end - start + 1 }, (_, i) => getOne(nc, api, start + i, opts.timeoutMs)));
    const batch = got.filter((e): e is RawEvent => e !== undefined && (!opts.filterSubject || subjectMatches(opts.filterSubject, e.subject)));
    if (batch.length > 0) {
      last = batch[batch.length - 1]!.seq;
      await onBatch(batch);
    }
  }
  return last;
}
