/**
 * The machine-grant cache (services/auth/grant-cache.ts) over real PostgreSQL and HTTP (inject):
 * what it may not do. The app runs with a long TTL (60 s) on a clock of the test's own, so a refusal
 * below comes from the invalidation under test, not from an entry that aged out; the first test
 * shows the cache is really used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import type { AuditEvent } from '../../services/auth/plugin.js';
import type { AuthUser } from '../../services/auth/roles.js';
import { createUser, grantMachine } from '../../services/auth/users.js';
import { buildAuthApp } from '../support/auth-app.js';
import { type TestPostgres, startTestPostgres } from '../support/servers.js';

const PASSWORD = 'correct horse battery';
const TTL_MS = 60_000;

describe('machine-grant cache (real PostgreSQL)', () => {
  let pgs: TestPostgres;
  let db: Kysely<Database>;
  let app: FastifyInstance;
  const audits: AuditEvent[] = [];
  const users: Record<string, AuthUser> = {};
  const tokens: Record<string, string> = {};
  const clock = { now: Date.now() };

  const allowed = async (who: string, agentId: string) => {
    const r = await app.inject({ url: `/api/machines/${encodeURIComponent(agentId)}/access`, headers: { authorization: `Bearer ${tokens[who]}` } });
    assert.equal(r.statusCode, 200, r.body);
    return (r.json() as { allowed: boolean }).allowed;
  };
  const asAdmin = (method: 'POST' | 'DELETE', url: string, payload?: unknown) => app.inject({ method, url, payload: payload as object, headers: { authorization: `Bearer ${tokens.alice}` } });
  const revokeBehindItsBack = (who: string, agentId: string) => db.deleteFrom('machine_grants').where('user_id', '=', users[who]!.id).where('agent_id', '=', agentId).execute();

  before(async () => {
    pgs = await startTestPostgres();
    db = openDb({ url: pgs.url });
    await migrateToLatest(db);
    app = await buildAuthApp(db, audits, { sessionCache: { ttlMs: TTL_MS, now: () => clock.now } });
    for (const [name, role] of [
      ['alice', 'admin'],
      ['olga', 'operator'],
      ['oscar', 'operator'],
      ['vic', 'viewer'],
    ] as const) {
      const r = await createUser(db, { name, role, password: PASSWORD });
      assert.ok(r.ok);
      users[name] = r.value;
      const login = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { name, password: PASSWORD } });
      assert.equal(login.statusCode, 200, login.body);
      tokens[name] = (login.json() as { token: string }).token;
    }
  });
  after(async () => {
    await app?.close();
    await db?.destroy();
    await pgs?.stop();
  });

  it('is used: a grant revoked behind its back (SQL, another process) holds only until the TTL', async () => {
    assert.ok((await grantMachine(db, users.oscar!.id, 'pc-sql')).ok);
    assert.equal(await allowed('oscar', 'pc-sql'), true);
    await revokeBehindItsBack('oscar', 'pc-sql');
    assert.equal(await allowed('oscar', 'pc-sql'), true, 'the cache answered (else the tests below prove nothing)');
    clock.now += TTL_MS;
    assert.equal(await allowed('oscar', 'pc-sql'), false);
  });

  it('takes a revocation through the API at once, and a new grant too', async () => {
    const granted = await asAdmin('POST', `/api/users/${users.olga!.id}/grants`, { agent_id: 'pc-1' });
    assert.equal(granted.statusCode, 201, granted.body);
    assert.equal(await allowed('olga', 'pc-1'), true);
    assert.equal(await allowed('olga', 'pc-1'), true, 'from the cache now');
    const revoked = await asAdmin('DELETE', `/api/users/${users.olga!.id}/grants/pc-1`);
    assert.equal(revoked.statusCode, 200, revoked.body);
    for (let i = 0; i < 3; i++) assert.equal(await allowed('olga', 'pc-1'), false, 'the very next request is refused');
    // A refusal was kept; a grant through the API must not wait for it to age out.
    assert.equal((await asAdmin('POST', `/api/users/${users.olga!.id}/grants`, { agent_id: 'pc-1' })).statusCode, 201);
    assert.equal(await allowed('olga', 'pc-1'), true);
  });

  it('is emptied by any other auth change made here (a user created), so a revocation elsewhere applies at once after it', async () => {
    assert.ok((await grantMachine(db, users.oscar!.id, 'pc-2')).ok);
    assert.equal(await allowed('oscar', 'pc-2'), true);
    await revokeBehindItsBack('oscar', 'pc-2');
    assert.equal(await allowed('oscar', 'pc-2'), true, 'still cached');
    const created = await asAdmin('POST', '/api/users', { name: 'newbie', role: 'viewer' });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(await allowed('oscar', 'pc-2'), false);
  });

  it("answers one machine's grant for that machine and that user only", async () => {
    assert.ok((await grantMachine(db, users.oscar!.id, 'pc-3')).ok);
    assert.equal(await allowed('oscar', 'pc-3'), true);
    for (const other of ['pc-33', 'pc-', 'PC-3', 'pc-3 ', '*', 'pc-4']) assert.equal(await allowed('oscar', other), false, other);
    assert.equal(await allowed('vic', 'pc-3'), false, "another user's cached grant is no grant of theirs");
    assert.equal(await allowed('olga', 'pc-3'), false);
    assert.equal(await allowed('oscar', 'pc-3'), true, 'and the granted pair still is');
  });

  it('keeps hostile machine ids apart and answers them as the database does', async () => {
    const oscar = users.oscar!;
    assert.ok((await grantMachine(db, oscar.id, 'pc-5')).ok);
    assert.equal(await app.canAccessMachine(oscar, 'pc-5'), true);
    const hostile = [
      'pc-5\u0000',
      '\u0000',
      'pc-5\ud800',
      '\udfff',
      'x'.repeat(100_000),
      `pc-5${'\u0000'.repeat(3)}`,
      '0',
      '-1',
      '2147483647',
      '4294967295',
      '9223372036854775807',
      '["pc-5"]',
      'pc-5","operator',
      '',
    ];
    for (const id of hostile) {
      // Asked twice: the second answer may come from the cache, and must be the same.
      const first = await app.canAccessMachine(oscar, id).catch(() => false);
      assert.equal(first, false, JSON.stringify(id.slice(0, 20)));
      assert.equal(await app.canAccessMachine(oscar, id).catch(() => false), false);
    }
    // A user id spelt to look like another key reaches nothing either.
    assert.equal(await app.canAccessMachine({ ...oscar, id: `${oscar.id}","operator","pc-5` }, 'pc-5').catch(() => false), false);
    assert.equal(await app.canAccessMachine(oscar, 'pc-5'), true);
  });

  it('never keeps a lookup for an admin, who reaches every machine by role', async () => {
    assert.equal(await allowed('alice', 'pc-anything'), true);
    // Demoted behind its back: the admin's answer was never a cached grant.
    assert.equal(await app.canAccessMachine({ ...users.alice!, role: 'operator' }, 'pc-anything'), false);
  });
});
