/**
 * The audit chain accounts for every stream sequence: an event the audit projection quarantined
 * becomes a chained `event_quarantined` row at its sequence. Replay and verify read the quarantine
 * list from Postgres and put the same row at the same sequences, so the rest of the chain still
 * compares equal, and each one is reported.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { parseSubject } from '../../proto/subjects.js';
import type { QuarantinedEvent } from '../runtime/types.js';
import type { AuditRow } from './audit-types.js';

export const AUDIT_PROJECTION = 'audit';
export const QUARANTINED_TYPE = 'event_quarantined';

/** The id of the row standing for the quarantined event at `seq` (no event or command id has this shape). */
export const quarantineRowId = (seq: number) => `quarantined:${seq}`;

/** The chained row for a quarantined event: only what quarantined_events holds, so a replay makes the same. */
export function quarantineRow(q: QuarantinedEvent): AuditRow {
  const parsed = parseSubject(q.subject);
  const agent = parsed.ok && 'agentId' in parsed.value ? parsed.value.agentId : null;
  return {
    id: quarantineRowId(q.seq),
    seq: q.seq,
    session_id: null,
    user_id: null,
    user_name: null,
    agent_id: agent,
    event_type: QUARANTINED_TYPE,
    details: { stream_seq: q.seq, subject: q.subject, sha256: q.sha256, error: `${q.errorCode}: ${q.errorMessage}` },
    created_at: q.quarantinedAt,
    correlation_id: null,
  };
}

/** The audit projection's quarantined events by sequence, as stored. */
export async function quarantinedAudit(db: Kysely<Database>): Promise<Map<number, QuarantinedEvent>> {
  const rows = await db.selectFrom('quarantined_events').selectAll().where('projection', '=', AUDIT_PROJECTION).orderBy('stream_seq').execute();
  return new Map(
    rows.map((r) => [
      Number(r.stream_seq),
      {
        seq: Number(r.stream_seq),
        subject: r.subject,
        sha256: r.sha256,
        errorCode: r.error_code,
        errorMessage: r.error_message,
        quarantinedAt: new Date(r.quarantined_at),
      },
    ]),
  );
}
