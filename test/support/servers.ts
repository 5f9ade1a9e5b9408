/**
 * Real servers for integration tests: a private nats-server and PostgreSQL per test file.
 * With DATABASE_URL set, a fresh database is created on that server instead of a private cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type NatsServer, startNatsServer } from '../../infra/servers/nats-server.js';
import { startPostgresServer } from '../../infra/servers/postgres-server.js';

export interface TestNats extends NatsServer {
  dir: string;
}

/** A nats-server on a free loopback port with its own JetStream directory; `stop` removes it. */
export async function startTestNats(extraConfig?: string): Promise<TestNats> {
  const dir = mkdtempSync(join(tmpdir(), 'gc-nats-'));
  const srv = await startNatsServer({ dir, extraConfig });
  return {
    ...srv,
    dir,
    async stop() {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
