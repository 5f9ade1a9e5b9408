/** What every projections CLI reads from the environment, validated once. */
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { connectBus, credsPermissions } from '../../proto/bus/connect.js';
import { readNatsCa } from '../../proto/bus/nats-ca.js';
import { openDb } from '../../infra/db/connect.js';
import type { Database } from '../../infra/db/schema.js';
import { EventsApi, type EventsApiSubjects } from '../../proto/subjects.js';

const envSchema = z.object({
  NATS_URL: z.string().default('tls://127.0.0.1:4222'),
  NATS_CREDS: z.string().optional(),
  /** The servers' CA (the local stack's is in data/stack.json, filled in by infra/launcher/cli.ts). */
  NATS_CA: z.string().optional(),
  DATABASE_URL: z.string().optional(),
});

export interface CliDeps {
  nc: NatsConnection;
  db?: Kysely<Database>;
  /** Where these credentials reach the event stream: the readers' import (auditors) or the account's own API. */
  eventsApi: EventsApiSubjects;
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

/** Reader credentials may publish only the readers' stream API; anything else uses the account's own. */
function eventsApiOf(credsText: string | undefined): EventsApiSubjects {
  const pub = credsText ? (credsPermissions(credsText)?.pub?.allow ?? []) : [];
  return pub.includes(EventsApi.reader.get) ? EventsApi.reader : EventsApi.direct;
}

/** Connects to NATS (and Postgres when `needDb`); the error text says which variable is missing or what to do. */
export async function cliDeps(name: string, needDb: boolean, env: NodeJS.ProcessEnv = process.env): Promise<CliDeps | string> {
  const e = envSchema.safeParse(env);
  if (!e.success) return `bad environment: ${e.error.message}`;
  if (needDb && !e.data.DATABASE_URL) return 'DATABASE_URL is not set (the local stack writes it to data/stack.json; elsewhere set it to the audit database)';
  let credsText: string | undefined;
  if (e.data.NATS_CREDS) {
    try {
      credsText = readFileSync(e.data.NATS_CREDS, 'utf8');
    } catch (x) {
      return `cannot read NATS_CREDS ${e.data.NATS_CREDS}: ${(x as NodeJS.ErrnoException).code ?? (x as Error).message}; point it at a .creds file (the auditor's, or one written by integrations create)`;
    }
  }
  if (e.data.NATS_CA) {
    const ca = readNatsCa(e.data.NATS_CA);
    if (!ca.ok) return `${ca.error.message}; point NATS_CA at the deployment's CA file (the local stack's is <GC_DATA_DIR>/tls/ca.pem)`;
  }
  const nc = await connectBus({ servers: e.data.NATS_URL, name, credsFile: e.data.NATS_CREDS, caFile: e.data.NATS_CA, once: true }).catch((x: Error) => x);
  if (nc instanceof Error) {
    const hint = /authorization/i.test(nc.message)
      ? e.data.NATS_CREDS
        ? ` (the server refused ${e.data.NATS_CREDS}: revoked, or for another deployment)`
        : " (set NATS_CREDS to the auditor's .creds file, or start the local stack with `bash infra/up.sh`)"
      : /certificate|self[- ]signed|TLS|tls/.test(nc.message)
        ? " (the server's certificate is not trusted: set NATS_CA to the deployment's CA file)"
        : ' (is the stack running? `bash infra/up.sh` starts it)';
    return `cannot reach NATS at ${e.data.NATS_URL}: ${nc.message}${hint}`;
  }
  const db = needDb && e.data.DATABASE_URL ? openDb({ url: e.data.DATABASE_URL, max: 2, applicationName: name }) : undefined;
  return {
    nc,
    db,
    eventsApi: eventsApiOf(credsText),
    async close() {
      await nc.close().catch(() => {});
      await db?.destroy();
    },
  };
}
