/** Audit rows computed straight from JetStream (the same fold as the projection, all in memory). */
import type { NatsConnection } from '@nats-io/nats-core';
import type { EventsApiSubjects } from '../../proto/subjects.js';
import { decodeEvent } from '../runtime/decode-event.js';
import { readStream, streamState } from '../runtime/read-stream.js';
import { GENESIS_HASH, chain, cleanForJsonb } from './audit-hash.js';
import { auditKeys, foldAudit } from './audit-fold.js';
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

/** Folds the stream from its first event (sequence 1 unless aged out) up to `toSeq` (default: its end) into chained audit rows. */
export async function replayAudit(nc: NatsConnection, o: { toSeq?: number; onProgress?: (seq: number, last: number) => void; api?: EventsApiSubjects } = {}): Promise<ReplayResult> {
  const state = emptyAuditState();
  const drafts: AuditRow[] = [];
  const uncertain = new Set<string>();
  let eventsRead = 0;
  let undecodable = 0;
  const info = await streamState(nc, o.api);
  if (!info.ok) throw new Error(info.error.message);
  let firstSeq = Math.max(1, info.value.firstSeq);
  let partial: boolean | undefined;
  const lastSeq = await readStream(nc, { fromSeq: 1, toSeq: o.toSeq, batch: 5000, api: o.api }, (batch) => {
    if (partial === undefined) {
      // Aging may have moved on since the info: the first event delivered is where the fold starts.
      firstSeq = batch[0]?.seq ?? firstSeq;
      partial = firstSeq > 1;
    }
    for (const r of batch) {
      eventsRead++;
      const d = decodeEvent(r.subject, r.seq, r.data);
      if (!d.ok) { undecodable++; continue; }
      const unseenAgent = partial && d.value.msg.payload === 'agentStatus' && auditKeys(d.value).agents.some((a) => !state.online.has(a));
      const row = foldAudit(state, d.value);
      if (!row) continue;
      // Same normalisation as the projection, so hashes match what Postgres holds.
      drafts.push({ ...cleanForJsonb(row), created_at: row.created_at });
      if (unseenAgent || (partial && row.details.request_seen === false)) uncertain.add(row.id);
    }
    const last = batch[batch.length - 1]?.seq ?? 0;
    o.onProgress?.(last, o.toSeq ?? last);
  });
  return { rows: chain(GENESIS_HASH, drafts), eventsRead, undecodable, lastSeq, firstSeq, uncertain };
}
