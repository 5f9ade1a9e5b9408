/** Opens the kysely database over a pg pool. */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

// int8 (bigint) stays a string in rows; count(*) and stream sequences are converted where used.
export interface DbOptions {
  url: string;
  /** Pool size; projection workers need 1-2, the gateway a few. */
  max?: number;
  applicationName?: string;
}

export function openDb(opts: DbOptions): Kysely<Database> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.max ?? 5, application_name: opts.applicationName ?? 'guruconnect' });
  // A server restart must not crash the process; the next query reports the error. An idle pooled
  // client reports it on the pool, but a client checked out between two statements of a
  // transaction emits 'error' itself — with no listener that is an uncaught exception that killed
  // the projection worker when PostgreSQL stopped.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
