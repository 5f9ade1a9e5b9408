/** Checkpoint rows and the live-update notification, always inside the projection's transaction. */
import { type Transaction, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';

/** Channel the gateway LISTENs on; the payload is the projection name. */
export const READ_MODEL_CHANNEL = 'gc_read_models';

/**
 * Reads and row-locks the checkpoint (so two writers, or a rebuild swap, serialize on it), creating
 * it at 0 if missing: one statement, as the live path pays a round trip per statement.
 */
export async function lockCheckpoint(trx: Transaction<Database>, name: string): Promise<number> {
  const r = await sql<{ last_seq: string }>`insert into projection_checkpoints (name, last_seq, updated_at) values (${name}, 0, now())
    on conflict (name) do update set name = excluded.name returning last_seq`.execute(trx);
  return Number(r.rows[0]?.last_seq ?? 0);
}

/**
 * Moves the checkpoint forward only (greatest), so a late or replayed batch cannot move it back;
 * with `notify`, also signals the read model in the same statement.
 */
export async function advanceCheckpoint(trx: Transaction<Database>, name: string, seq: number, notify = false): Promise<void> {
  const advance = sql`insert into projection_checkpoints (name, last_seq, updated_at) values (${name}, ${seq}, now())
    on conflict (name) do update set last_seq = greatest(projection_checkpoints.last_seq, excluded.last_seq), updated_at = now()`;
  if (notify) await sql`with advanced as (${advance}) select pg_notify(${READ_MODEL_CHANNEL}, ${name})`.execute(trx);
  else await advance.execute(trx);
}

export async function notifyReadModel(trx: Transaction<Database>, name: string): Promise<void> {
  await sql`select pg_notify(${READ_MODEL_CHANNEL}, ${name})`.execute(trx);
}
