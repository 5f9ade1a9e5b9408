/** Read models of issue 2: machines, their sessions, and projection checkpoints. */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('projection_checkpoints')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('machines')
    .addColumn('agent_id', 'text', (c) => c.primaryKey())
    .addColumn('hostname', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('os_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('platform', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('agent_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('elevated', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('current_session_id', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('session_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('users', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('heartbeat_interval_ms', 'integer', (c) => c.notNull().defaultTo(5000))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('online'))
    .addColumn('first_seen', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('windows_sessions')
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'integer', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('domain', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('station_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('client_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('client_address', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('logon_time', 'timestamptz')
    .addColumn('idle_secs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('capturable', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('windows_sessions_pk', ['agent_id', 'session_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('windows_sessions').execute();
  await db.schema.dropTable('machines').execute();
  await db.schema.dropTable('projection_checkpoints').execute();
}
