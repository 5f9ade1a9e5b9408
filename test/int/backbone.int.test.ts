import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { sql } from 'kysely';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import { type TestNats, type TestPostgres, startTestNats, startTestPostgres } from '../support/servers.js';

describe('event backbone (real nats-server and PostgreSQL)', () => {
  let nats: TestNats;
  let pgs: TestPostgres;
  let nc: NatsConnection;
  before(async () => {
    [nats, pgs] = await Promise.all([startTestNats(), startTestPostgres()]);
    nc = await connectBus({ servers: nats.url, name: 'test' });
  });
  after(async () => {
    await nc?.close();
    await Promise.all([nats?.stop(), pgs?.stop()]);
  });

  it('creates the event stream idempotently, immutable, with a duplicate window', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm);
    await ensureStreams(jsm);
    const info = await jsm.streams.info('GC_EVENTS');
    assert.equal(info.config.deny_delete, true);
    assert.equal(info.config.deny_purge, true);
    assert.ok(info.config.duplicate_window > 0);
    const js = jetstream(nc);
    const first = await js.publish('gc.cmd.a1.switch-session', new Uint8Array([1]), { msgID: 'cmd-1' });
    const again = await js.publish('gc.cmd.a1.switch-session', new Uint8Array([1]), { msgID: 'cmd-1' });
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, first.seq);
    await assert.rejects(jsm.streams.purge('GC_EVENTS'));
  });

  it('migrates an empty database and is a no-op the second time', async () => {
    const db = openDb({ url: pgs.url });
    const applied = await migrateToLatest(db);
    assert.ok(applied.includes('0001_read_models'));
    assert.deepEqual(await migrateToLatest(db), []);
    const r = await sql<{ n: number }>`select count(*)::int as n from machines`.execute(db);
    assert.equal(r.rows[0]?.n, 0);
    await db.destroy();
  });
});
