/**
 * Migration 0009: the machines filter's user text lives in machines_search_users, kept by triggers
 * for every writer of machines, so that a heartbeat is a HOT update of machines (no index touched).
 * Real PostgreSQL and nats-server: direct writes, the projection, a rebuild.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { machinesProjection } from '../../projections/machines.projection.js';
import { rebuildProjection } from '../../projections/rebuild/rebuild.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import { listMachinesPage } from '../../services/gateway/read/machines.js';
import { type Backbone, startBackbone } from '../support/servers.js';

const row = (id: string, users: string[], hostname = `host-${id}`) => ({
  agent_id: id,
  hostname,
  os_version: 'Windows 11',
  platform: 'windows',
  agent_version: '1',
  elevated: true,
  current_session_id: 1,
  session_count: users.length,
  users,
  heartbeat_interval_ms: 5000,
  state: 'online',
  first_seen: new Date(),
  last_seen: new Date(),
  last_seq: '1',
});

/** machines' users as the side table must hold them, and what it holds, both sorted by agent. */
async function bothSides(db: Kysely<Database>) {
  const want = (await sql<{ agent_id: string; users: string }>`select agent_id, array_to_string(users, chr(1)) as users from machines order by agent_id`.execute(db)).rows;
  const have = await db.selectFrom('machines_search_users').select(['agent_id', 'users']).orderBy('agent_id').execute();
  return { want, have };
}

const filterIds = async (db: Kysely<Database>, q: string) => (await listMachinesPage(db, 3, { q, status: 'all', limit: 500 })).machines.map((m) => m.agent_id).sort();

describe('machines_search_users: the filter text of users, kept by triggers (migration 0009)', { timeout: 120_000 }, () => {
  let b: Backbone;
  before(async () => {
    b = await startBackbone();
  });
  after(async () => {
    await b?.stop();
  });

  it('follows inserts, upserts, updates, deletes and truncation of machines, hostile names included', async () => {
    const { db } = b;
    const hostile = ['x'.repeat(100_000), '%_\\', 'ünï😀', 'a b', ''];
    await db
      .insertInto('machines')
      .values([row('m-1', ['alice', 'bob']), row('m-2', []), row('m-3', hostile), row('m-4', ['alice'])])
      .execute();
    let s = await bothSides(db);
    assert.equal(s.have.length, 4);
    assert.deepEqual(s.have, s.want);

    // The projection's kind of write: INSERT … ON CONFLICT DO UPDATE, one new row and one changed.
    await sql`insert into machines select * from machines where agent_id = 'm-1' on conflict (agent_id) do update set users = '{carol}'`.execute(db);
    await db
      .insertInto('machines')
      .values(row('m-5', ['dave']))
      .onConflict((oc) => oc.column('agent_id').doUpdateSet({ users: ['dave'] }))
      .execute();
    s = await bothSides(db);
    assert.deepEqual(s.have, s.want);
    assert.equal(s.have.find((r) => r.agent_id === 'm-1')?.users, 'carol');

    // An update that leaves the users alone writes no new version of the side row.
    const xmin = async (id: string) => (await sql<{ x: string }>`select xmin::text as x from machines_search_users where agent_id = ${id}`.execute(db)).rows[0]?.x;
    const before4 = await xmin('m-4');
    await db.updateTable('machines').set({ last_seen: new Date(), last_seq: '2' }).execute();
    assert.equal(await xmin('m-4'), before4);
    await db
      .updateTable('machines')
      .set({ users: ['erin', 'frank'] })
      .where('agent_id', '=', 'm-4')
      .execute();
    assert.notEqual(await xmin('m-4'), before4);
    s = await bothSides(db);
    assert.deepEqual(s.have, s.want);

    await db.deleteFrom('machines').where('agent_id', 'in', ['m-2', 'm-3']).execute();
    s = await bothSides(db);
    assert.deepEqual(
      s.have.map((r) => r.agent_id),
      ['m-1', 'm-4', 'm-5'],
    );
    assert.deepEqual(s.have, s.want);

    await sql`truncate machines`.execute(db);
    assert.deepEqual(await db.selectFrom('machines_search_users').selectAll().execute(), []);
    // Both in one statement, as a projection reset truncates its tables.
    await db
      .insertInto('machines')
      .values(row('m-6', ['gina']))
      .execute();
    await sql`truncate machines, machines_search_users`.execute(db);
    assert.deepEqual(await db.selectFrom('machines_search_users').selectAll().execute(), []);
  });

  it('filters on the users a machine has now, never on one who left, and never across two users', async () => {
    const { db } = b;
    await db
      .insertInto('machines')
      .values([row('f-1', ['alice', 'bob']), row('f-2', ['bobby']), row('f-3', [], 'alice-pc')])
      .execute();
    assert.deepEqual(await filterIds(db, 'ALICE'), ['f-1', 'f-3']);
    await db
      .updateTable('machines')
      .set({ users: ['carol'] })
      .where('agent_id', '=', 'f-1')
      .execute();
    assert.deepEqual(await filterIds(db, 'alice'), ['f-3']);
    assert.deepEqual(await filterIds(db, 'carol'), ['f-1']);
    assert.deepEqual(await filterIds(db, 'bob'), ['f-2']);
    assert.deepEqual(await filterIds(db, 'lbob'), [], 'carol and bob were never one name');
    assert.deepEqual(await filterIds(db, 'f-2'), ['f-2'], 'the agent id still matches');
    // A side row left without its machine (ids are never reused, but if one were) picks nothing.
    await sql`insert into machines_search_users values ('gone', 'zed')`.execute(db);
    assert.deepEqual(await filterIds(db, 'zed'), []);
    await sql`truncate machines`.execute(db);
  });

  it('makes a heartbeat and a change of users HOT updates; a new host name is not', async () => {
    const { db } = b;
    await db
      .insertInto('machines')
      .values(Array.from({ length: 100 }, (_, i) => row(`h-${i}`, ['alice'])))
      .execute();
    const hotIn = (set: string) =>
      db.transaction().execute(async (trx) => {
        // The backend's counts not yet reported, this transaction's included: the difference is its own.
        const counted = async () => Number((await sql<{ n: string }>`select pg_stat_get_xact_tuples_hot_updated('machines'::regclass) as n`.execute(trx)).rows[0]?.n);
        const n0 = await counted();
        await sql`update machines set ${sql.raw(set)} where agent_id like 'h-%'`.execute(trx);
        return (await counted()) - n0;
      });
    // One update per row per transaction: the page has room for each new version (fillfactor 50).
    assert.equal(await hotIn(`last_seen = now(), last_seq = last_seq + 1, current_session_id = 2`), 100);
    assert.equal(await hotIn(`users = '{bob}'`), 100);
    assert.equal(await hotIn(`hostname = hostname || '-x'`), 0);
    await sql`truncate machines`.execute(db);
  });

  it('survives a rebuild of machines: fillfactor, triggers and side table carried to the swapped-in table', async () => {
    const { db, nc, js } = b;
    const agents = ['r-1', 'r-2', 'r-3'] as AgentId[];
    const status = (a: AgentId, user: string) => message({ agentStatus: { hostname: `pc-${a}`, sessions: { currentSessionId: 1, sessions: [{ sessionId: 1, userName: user }] } } }, { agentId: a });
    let last = 0;
    for (const a of agents) last = (await js.publish(subjects.agentEvent(a, 'status'), encode(status(a, `user-${a}`)))).seq;
    const w = await startProjection(machinesProjection, { nc, db });
    try {
      assert.ok(await w.caughtUp(last));
      const r = await rebuildProjection({ nc, db, def: machinesProjection });
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      const options = (await sql<{ o: string[] | null }>`select reloptions as o from pg_class where oid = 'public.machines'::regclass`.execute(db)).rows[0]?.o;
      assert.deepEqual(options, ['fillfactor=50']);
      // LIKE copies indexes with their options: both trigram indexes keep their short pending list.
      const ginOptions = (
        await sql<{
          o: string[] | null;
        }>`select i.reloptions as o from pg_index x join pg_class i on i.oid = x.indexrelid join pg_am a on a.oid = i.relam where x.indrelid in ('public.machines'::regclass, 'public.machines_search_users'::regclass) and a.amname = 'gin'`.execute(
          db,
        )
      ).rows.map((x) => x.o);
      assert.deepEqual(ginOptions, [['gin_pending_list_limit=256'], ['gin_pending_list_limit=256']]);
      const triggers = (await sql<{ t: string }>`select tgname as t from pg_trigger where tgrelid = 'public.machines'::regclass and not tgisinternal order by tgname`.execute(db)).rows.map((x) => x.t);
      assert.deepEqual(triggers, ['machines_search_users_delete', 'machines_search_users_insert', 'machines_search_users_truncate', 'machines_search_users_update']);
      let s = await bothSides(db);
      assert.equal(s.have.length, 3);
      assert.deepEqual(s.have, s.want);
      // The live worker writes the swapped-in table; its triggers keep the swapped-in side table.
      last = (await js.publish(subjects.agentEvent(agents[0]!, 'status'), encode(status(agents[0]!, 'after-swap')))).seq;
      assert.ok(await w.caughtUp(last));
      s = await bothSides(db);
      assert.deepEqual(s.have, s.want);
      assert.deepEqual(await filterIds(db, 'after-swap'), ['r-1']);
      assert.deepEqual(await filterIds(db, 'user-r-1'), []);
    } finally {
      await w.stop();
    }
  });
});
