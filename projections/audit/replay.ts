/** Audit rows computed straight from JetStream (the same fold as the projection, all in memory). */
import type { NatsConnection } from '@nats-io/nats-core';
import type { EventsApiSubjects } from '../../proto/subjects.js';
import { decodeEvent } from '../runtime/decode-event.js';
import { type RawEvent, readStream, streamState } from '../runtime/read-stream.js';
import type { QuarantinedEvent } from '../runtime/types.js';
import { GENESIS_HASH, chain, cleanForJsonb } from './audit-hash.js';
import { auditKeys, foldAudit } from './audit-fold.js';
import { quarantineRow } from './audit-quarantine.js';
import { type AuditRow, type ChainedAuditRow, emptyAuditState } from './audit-types.js';

export interface AuditFilter {
  agent?: string;
  /** Matches user id or user name. */
  user?: string;
  /** Event types (any of). */
  types?: string[];
  since?: Date;
  until?: Date;
}

export interface ReplayResult {
  rows: ChainedAuditRow[];
  eventsRead: number;
  undecodable: number;
  lastSeq: number;
  /** The stream's first sequence when read: above 1 once stream retention aged events out. */
  firstSeq: number;
  /**
   * Ids of rows whose content may depend on events before firstSeq (empty when firstSeq is 1): a
   * result whose request is older than the stream, an agent's online/offline flip whose previous
   * state the replay never saw. Their hashes are never comparable either: the chain starts at firstSeq.
   */
  uncertain: Set<string>;
}

/** True when `r` passes every filter given. */
export function matchesFilter(r: AuditRow, f: AuditFilter): boolean {
  if (f.agent && r.agent_id !== f.agent) return false;
  if (f.user && r.user_id !== f.user && r.user_name !== f.user) return false;
  if (f.types && f.types.length > 0 && !f.types.includes(r.event_type)) return false;
  const t = new Date(r.created_at).getTime();
  if (f.since && t < f.since.getTime()) return false;
  if (f.until && t > f.until.getTime()) return false;
  return true;
}

export interface ReplayOptions {
  toSeq?: number;
  onProgress?: (seq: number, last: number) => void;
  /**
   * The audit projection's quarantined events (audit-quarantine.ts quarantinedAudit): at those
   * sequences the replay puts the projection's event_quarantined row instead of folding the event.
   */
  quarantined?: ReadonlyMap<number, QuarantinedEvent>;
  /** Where these credentials reach the stream (the readers' import for auditors). */
  api?: EventsApiSubjects;
}

/** The replay fold, fed batch by batch in stream order; each call returns the rows it completed, chained. */
export interface AuditReplayFold {
  feed(batch: RawEvent[]): ChainedAuditRow[];
  /** What a finished replay reports (rows are what `feed` returned, in order). */
  summary(): Omit<ReplayResult, 'rows' | 'lastSeq'>;
}

/** A fold that starts at the first event it is fed (the stream's first, unless aged out). */
export function createAuditReplayFold(o: Pick<ReplayOptions, 'quarantined'> & { firstSeq?: number } = {}): AuditReplayFold {
  const state = emptyAuditState();
  const uncertain = new Set<string>();
  let head = GENESIS_HASH;
  let eventsRead = 0;
  let undecodable = 0;
  let firstSeq = Math.max(1, o.firstSeq ?? 1);
  let partial: boolean | undefined;
  return {
    feed(batch) {
      if (partial === undefined && batch.length > 0) {
        // Aging may have moved on since the info: the first event delivered is where the fold starts.
        firstSeq = batch[0]!.seq;
        partial = firstSeq > 1;
      }
      const drafts: AuditRow[] = [];
      for (const r of batch) {
        eventsRead++;
        const q = o.quarantined?.get(r.seq);
        if (q) {
          const row = quarantineRow(q);
          drafts.push({ ...cleanForJsonb(row), created_at: row.created_at });
          continue;
        }
        const d = decodeEvent(r.subject, r.seq, r.data, r.timeMs);
        if (!d.ok) {
          undecodable++;
          continue;
        }
        const unseenAgent = partial && d.value.msg.payload === 'agentStatus' && auditKeys(d.value).agents.some((a) => !state.online.has(a));
        const row = foldAudit(state, d.value);
        if (!row) continue;
        // Same normalisation as the projection, so hashes match what Postgres holds.
        drafts.push({ ...cleanForJsonb(row), created_at: row.created_at });
        if (unseenAgent || (partial && row.details.request_seen === false)) uncertain.add(row.id);
      }
      const rows = chain(head, drafts);
      head = rows.at(-1)?.hash ?? head;
      return rows;
    },
    summary: () => ({ eventsRead, undecodable, firstSeq, uncertain }),
  };
}

/** Folds the stream from its first event (sequence 1 unless aged out) up to `toSeq` (default: its end) into chained audit rows. */
export async function replayAudit(nc: NatsConnection, o: ReplayOptions = {}): Promise<ReplayResult> {
  const info = await streamState(nc, o.api);
  if (!info.ok) throw new Error(info.error.message);
  const fold = createAuditReplayFold({ quarantined: o.quarantined, firstSeq: info.value.firstSeq });
  const rows: ChainedAuditRow[] = [];
  const lastSeq = await readStream(nc, { fromSeq: 1, toSeq: o.toSeq, batch: 5000, api: o.api }, (batch) => {
    for (const r of fold.feed(batch)) rows.push(r);
    const last = batch[batch.length - 1]?.seq ?? 0;
    o.onProgress?.(last, o.toSeq ?? last);
  });
  return { rows, lastSeq, ...fold.summary() };
}

/**
 * Replays, then keeps folding what the stream appends (polled every `everyMs`) and hands each new row
 * to `onRow`, until `signal` aborts. The first rows are the whole replay, so a follower's chain is
 * the one `audit verify` checks.
 */
export async function followAudit(nc: NatsConnection, o: ReplayOptions & { everyMs?: number; signal: AbortSignal; onRow: (r: ChainedAuditRow) => void }): Promise<void> {
  const info = await streamState(nc, o.api);
  if (!info.ok) throw new Error(info.error.message);
  const fold = createAuditReplayFold({ quarantined: o.quarantined, firstSeq: info.value.firstSeq });
  let next = 1;
  const aborted = new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
  while (!o.signal.aborted) {
    const now = await streamState(nc, o.api);
    if (!now.ok) throw new Error(now.error.message);
    if (now.value.lastSeq >= next) {
      await readStream(nc, { fromSeq: next, toSeq: now.value.lastSeq, batch: 5000, api: o.api }, (batch) => {
        for (const r of fold.feed(batch)) o.onRow(r);
        o.onProgress?.(batch[batch.length - 1]?.seq ?? 0, now.value.lastSeq);
      });
      next = now.value.lastSeq + 1;
      continue;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      aborted,
      new Promise<void>((r) => {
        timer = setTimeout(r, o.everyMs ?? 500);
      }),
    ]);
    clearTimeout(timer);
  }
}
