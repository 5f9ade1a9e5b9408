/**
 * Real servers for integration tests: a private nats-server and PostgreSQL per test file.
 * With DATABASE_URL set, a fresh database is created on that server instead of a private cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { type NatsServer, type NatsTls, startNatsServer } from '../../infra/servers/nats-server.js';
import { startPostgresServer } from '../../infra/servers/postgres-server.js';
import { type TlsFiles, ensureLocalTls } from '../../infra/servers/tls-ca.js';

export interface TestNats extends NatsServer {
  dir: string;
}

/**
 * A nats-server on a free loopback port with its own JetStream directory; `stop` removes it. Plain
 * text unless `tls` is given: the launcher's stack always runs TLS, tests not about transport need not.
 */
export async function startTestNats(extraConfig?: string, o: { tls?: NatsTls } = {}): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'gc-nats-'));
  const srv = await startNatsServer({ dir, extraConfig, tls: o.tls });
  return {
    ...srv,
    dir,
    async stop() {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestTls extends TlsFiles {
  dir: string;
  remove(): void;
}

/** A private CA and a server certificate for 127.0.0.1 and localhost in a fresh temporary directory. */
export async function makeTestTls(): Promise<TestTls> {
  const dir = mkdtempSync(join(tmpdir(), 'gc-tls-'));
  const files = await ensureLocalTls(dir, { names: ['127.0.0.1', 'localhost'] });
  return { ...files, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestPostgres {
  url: string;
  stop(): Promise<void>;
}

/** A fresh, empty database: on DATABASE_URL's server if given, else in a private cluster. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const given = process.env.DATABASE_URL;
  if (given) {
    const name = `gc_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: given });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(given);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async stop() {
        const c = new pg.Client({ connectionString: given });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'gc-pg-'));
  const srv = await startPostgresServer({ dir, fast: true });
  return {
    url: srv.url,
    async stop() {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Backbone {
  nats: TestNats;
  pgs: TestPostgres;
  nc: NatsConnection;
  js: JetStreamClient;
  db: Kysely<Database>;
  stop(): Promise<void>;
}

/** Real nats-server and PostgreSQL with our streams and migrations applied: the read side's world. */
export async function startBackbone(): Promise<Backbone> {
  const [nats, pgs] = await Promise.all([startTestNats(), startTestPostgres()]);
  const nc = await connectBus({ servers: nats.url, name: 'test' });
  await ensureStreams(await jetstreamManager(nc));
  const db = openDb({ url: pgs.url });
  await migrateToLatest(db);
  return {
    nats,
    pgs,
    nc,
    js: jetstream(nc),
    db,
    async stop() {
      await db.destroy();
      await nc.close();
      await Promise.all([nats.stop(), pgs.stop()]);
    },
  };
}
