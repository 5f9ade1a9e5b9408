/** Audit rows computed straight from JetStream (the same fold as the projection, all in memory). */
import type { NatsConnection } from '@nats-io/nats-core';
import { decodeEvent } from '../runtime/decode-event.js';
import { readStream } from '../runtime/read-stream.js';
import { GENESIS_HASH, chain, cleanForJsonb } from './audit-hash.js';
import { foldAudit } from './audit-fold.js';
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

/** Folds the stream from sequence 1 up to `toSeq` (default: its end) into chained audit rows. */
export async function replayAudit(nc: NatsConnection, o: { toSeq?: number; onProgress?: (seq: number, last: number) => void } = {}): Promise<ReplayResult> {
  const state = emptyAuditState();
  const drafts: AuditRow[] = [];
  let eventsRead = 0;
  let undecodable = 0;
  const lastSeq = await readStream(nc, { fromSeq: 1, toSeq: o.toSeq, batch: 5000 }, (batch) => {
    for (const r of batch) {
      eventsRead++;
      const d = decodeEvent(r.subject, r.seq, r.data);
      if (!d.ok) { undecodable++; continue; }
      const row = foldAudit(state, d.value);
      // Same normalisation as the projection, so hashes match what Postgres holds.
      if (row) drafts.push({ ...cleanForJsonb(row), created_at: row.created_at });
    }
    const last = batch[batch.length - 1]?.seq ?? 0;
    o.onProgress?.(last, o.toSeq ?? last);
  });
  return { rows: chain(GENESIS_HASH, drafts), eventsRead, undecodable, lastSeq };
}
