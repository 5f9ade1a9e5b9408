/** Writing a quarantined_events row, inside the transaction that moves the checkpoint past the event. */
import { createHash } from 'node:crypto';
import { type Transaction, sql } from 'kysely';
import { pgText } from '../../infra/db/pg-safe.js';
import type { Database } from '../../infra/db/schema.js';
import type { FailureKind } from './failure-kind.js';
import type { DecodedEvent, QuarantinedEvent } from './types.js';

/** Longest error message kept: Postgres may quote the offending value in it. */
const MAX_MESSAGE = 500;

/**
 * Records `e` as quarantined for `projection` and returns the row as stored. A rebuild quarantines
 * the same events again: the first row stays (its time and error are what the audit chain holds).
 */
export async function quarantineEvent(trx: Transaction<Database>, projection: string, e: DecodedEvent, f: FailureKind): Promise<QuarantinedEvent> {
  const sha256 = createHash('sha256').update(e.data).digest('hex');
  const r = await sql<{ subject: string; error_code: string; error_message: string; quarantined_at: Date; sha256: string }>`
    insert into quarantined_events (projection, stream_seq, subject, error_code, error_message, quarantined_at, sha256)
    values (${projection}, ${e.seq}, ${pgText(e.subject)}, ${pgText(f.code)}, ${pgText(f.message.slice(0, MAX_MESSAGE))}, ${new Date()}, ${sha256})
    on conflict (projection, stream_seq) do update set projection = excluded.projection
    returning subject, error_code, error_message, quarantined_at, sha256`.execute(trx);
  const row = r.rows[0]!;
  return { seq: e.seq, subject: row.subject, sha256: row.sha256, errorCode: row.error_code, errorMessage: row.error_message, quarantinedAt: new Date(row.quarantined_at) };
}
