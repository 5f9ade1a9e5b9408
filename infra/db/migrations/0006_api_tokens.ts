/**
 * Issue 14 item 6: named API tokens for HTTP automation, and service accounts (users without a
 * password, who can only use such tokens). Numbered 0006: 0005 is added by another change.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('service', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema
    .alterTable('users')
    .alterColumn('password_hash', (c) => c.dropNotNull())
    .execute();
  // A service account has no password and a technician always has one: no row can be both or neither.
  await db.schema.alterTable('users').addCheckConstraint('users_service_has_no_password', sql`service = (password_hash is null)`).execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz')
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  // One live token per (user, name), so a name in the audit log points at one token at a time.
  await db.schema.createIndex('api_tokens_live_name').on('api_tokens').columns(['user_id', 'name']).unique().where(sql.ref('revoked_at'), 'is', null).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('api_tokens').execute();
  await db.schema.alterTable('users').dropConstraint('users_service_has_no_password').execute();
  await db
    .deleteFrom('users' as never)
    .where(sql.ref('service'), '=', true)
    .execute();
  await db.schema
    .alterTable('users')
    .alterColumn('password_hash', (c) => c.setNotNull())
    .execute();
  await db.schema.alterTable('users').dropColumn('service').execute();
}
