/** What every projections CLI reads from the environment, validated once. */
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { connectBus } from '../../infra/bus/connect.js';
import { openDb } from '../../infra/db/connect.js';
import type { Database } from '../../infra/db/schema.js';

const envSchema = z.object({
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  NATS_CREDS: z.string().optional(),
  DATABASE_URL: z.string().optional(),
});

export interface CliDeps {
  nc: NatsConnection;
  db?: Kysely<Database>;
  close(): Promise<void>;
}

/** Postgres only (tools that never read the stream); the error text says what is missing. */
export function cliDb(name: string, env: NodeJS.ProcessEnv = process.env): { db: Kysely<Database>; close(): Promise<void> } | string {
  const e = envSchema.safeParse(env);
  if (!e.success) return `bad environment: ${e.error.message}`;
  if (!e.data.DATABASE_URL) return 'DATABASE_URL is not set';
  const db = openDb({ url: e.data.DATABASE_URL, max: 1, applicationName: name });
  return { db, close: () => db.destroy() };
}

/** Connects to NATS (and Postgres when `needDb`); the error text says which variable is missing. */
export async function cliDeps(name: string, needDb: boolean, env: NodeJS.ProcessEnv = process.env): Promise<CliDeps | string> {
  const e = envSchema.safeParse(env);
  if (!e.success) return `bad environment: ${e.error.message}`;
  if (needDb && !e.data.DATABASE_URL) return 'DATABASE_URL is not set';
  const nc = await connectBus({ servers: e.data.NATS_URL, name, credsFile: e.data.NATS_CREDS, }).catch((x: Error) => x);
  if (nc instanceof Error) return `cannot reach NATS at ${e.data.NATS_URL}: ${nc.message}`;
  const db = needDb && e.data.DATABASE_URL ? openDb({ url: e.data.DATABASE_URL, max: 2, applicationName: name }) : undefined;
  return {
    nc,
    db,
    async close() {
      await nc.close().catch(() => {});
      await db?.destroy();
    },
  };
}
