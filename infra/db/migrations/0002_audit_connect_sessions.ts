/**
 * Audit log (the spec's `events`) and viewer connections (`connect_sessions`), issue 5.
 * No foreign key from events.session_id to connect_sessions: two projections fill them independently
 * and each can be rebuilt (table swap) on its own.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('connect_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('agent_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('user_id', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('user_name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('windows_session_id', 'integer')
    .addColumn('session_type', 'varchar(20)', (c) => c.notNull().defaultTo('screen_control'))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ended_at', 'timestamptz')
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('connect_sessions_agent_idx').on('connect_sessions').columns(['agent_id', 'started_at']).execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull().unique())
    .addColumn('session_id', 'text')
    .addColumn('user_id', 'text')
    .addColumn('user_name', 'text')
    .addColumn('agent_id', 'text')
    .addColumn('event_type', 'varchar(50)', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('correlation_id', 'text')
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_agent_idx').on('events').columns(['agent_id', 'created_at']).execute();
  await db.schema.createIndex('events_user_idx').on('events').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('events_type_idx').on('events').columns(['event_type', 'created_at']).execute();

  await db.schema
    .createTable('audit_pending')
    .addColumn('command_id', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'varchar(50)', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text')
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('audit_agents')
    .addColumn('agent_id', 'text', (c) => c.primaryKey())
    .addColumn('online', 'boolean', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['audit_agents', 'audit_pending', 'events', 'connect_sessions']) await db.schema.dropTable(t).execute();
}
