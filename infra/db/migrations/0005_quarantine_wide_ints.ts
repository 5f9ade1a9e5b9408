/**
 * Issue 13 (trust on the read side): a projection never stalls on one event.
 * - quarantined_events: an event a projection could not apply for a deterministic reason (a value
 *   Postgres refuses, a fold that throws on odd data), written in the transaction that moves that
 *   projection's checkpoint past it. Outside every rebuilt table set: a rebuild finds the same ones.
 * - Every proto-fed integer column becomes bigint: a uint32 (session ids, idle seconds, heartbeat
 *   interval) above 2^31-1 no longer fails the batch with "integer out of range".
 */
import { type Kysely, sql } from 'kysely';

const widened: ReadonlyArray<[string, string]> = [
  ['machines', 'current_session_id'],
  ['machines', 'session_count'],
  ['machines', 'heartbeat_interval_ms'],
  ['windows_sessions', 'session_id'],
  ['windows_sessions', 'idle_secs'],
  ['connect_sessions', 'windows_session_id'],
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('quarantined_events')
    .addColumn('projection', 'text', (c) => c.notNull())
    .addColumn('stream_seq', 'bigint', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('error_code', 'text', (c) => c.notNull())
    .addColumn('error_message', 'text', (c) => c.notNull())
    .addColumn('quarantined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('quarantined_events_pk', ['projection', 'stream_seq'])
    .execute();
  await db.schema.createIndex('quarantined_events_at_idx').on('quarantined_events').columns(['quarantined_at']).execute();
  for (const [t, c] of widened) await sql`alter table ${sql.table(t)} alter column ${sql.ref(c)} type bigint`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [t, c] of widened) await sql`alter table ${sql.table(t)} alter column ${sql.ref(c)} type integer`.execute(db);
  await db.schema.dropTable('quarantined_events').execute();
}
