/**
 * Postgres audit retention (issue 5): one row per pruning run, naming the last row it deleted and
 * that row's chain hash, so `audit verify` can start the chain at the first kept row and a forged or
 * missing anchor is evident. Outside the rebuilt tables: a rebuild re-applies it, never replaces it.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_retention_anchor')
    .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('from_seq', 'bigint', (c) => c.notNull())
    .addColumn('through_seq', 'bigint', (c) => c.notNull().unique())
    .addColumn('last_deleted_hash', 'text', (c) => c.notNull())
    .addColumn('cutoff', 'timestamptz', (c) => c.notNull())
    .addColumn('deleted_count', 'bigint', (c) => c.notNull())
    .addColumn('ran_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_retention_anchor').execute();
}
