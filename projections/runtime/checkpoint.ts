/** Checkpoint rows and the live-update notification, always inside the projection's transaction. */
import { type Transaction, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';

/** Channel the gateway LISTENs on; the payload is the projection name. */
export const READ_MODEL_CHANNEL = 'gc_read_models';

/** Reads and row-locks the checkpoint (so two writers, or a rebuild swap, serialize on it). */
export async function lockCheckpoint(trx: Transaction<Database>, name: string): Promise<number> {
  await trx.insertInto('projection_checkpoints').values({ name, last_seq: 0, updated_at: new Date() })
    .onConflict((oc) => oc.column('name').doNothing()).execute();
  const row = await trx.selectFrom('projection_checkpoints').select('last_seq').where('name', '=', name).forUpdate().executeTakeFirst();
  return Number(row?.last_seq ?? 0);
}

/** Moves the checkpoint forward only (greatest), so a late or replayed batch cannot move it back. */
export async function advanceCheckpoint(trx: Transaction<Database>, name: string, seq: number): Promise<void> {
  await sql`insert into projection_checkpoints (name, last_seq, updated_at) values (${name}, ${seq}, now())
    on conflict (name) do update set last_seq = greatest(projection_checkpoints.last_seq, excluded.last_seq), updated_at = now()`.execute(trx);
}

export async function notifyReadModel(trx: Transaction<Database>, name: string): Promise<void> {
  await sql`select pg_notify(${READ_MODEL_CHANNEL}, ${name})`.execute(trx);
}
