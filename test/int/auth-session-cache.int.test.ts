/**
 * The session-token cache over real PostgreSQL and HTTP (inject): what it may not do. Each app runs
 * with a long TTL (60 s) on a clock of the test's own, so a refusal below comes from the invalidation
 * under test, not from an entry that merely aged out; the first test shows the cache is really used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { createApiToken } from '../../services/auth/api-tokens.js';
import { createEnrollmentKey } from '../../services/auth/enrollment.js';
import type { AuditEvent } from '../../services/auth/plugin.js';
import { hashSecret } from '../../services/auth/secrets.js';
import { issueToken } from '../../services/auth/tokens.js';
import { createUser } from '../../services/auth/users.js';
import { buildAuthApp } from '../support/auth-app.js';
import { type TestPostgres, startTestPostgres } from '../support/servers.js';

const PASSWORD = 'correct horse battery';
const TTL_MS = 60_000;

describe('session-token cache (real PostgreSQL)', () => {
  let pgs: TestPostgres;
  let db: Kysely<Database>;
  let app: FastifyInstance;
  const audits: AuditEvent[] = [];
  const ids: Record<string, string> = {};
  // The cache's clock and the token lookup's: starts at the real time, moved only by the tests.
  const clock = { now: Date.now() };

  const me = (token: string) => app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } });
  const meCookie = (token: string) => app.inject({ url: '/api/auth/me', headers: { cookie: `gc_session=${token}` } });
  const login = async (name: string) => {
    const r = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { name, password: PASSWORD } });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as { token: string };
  };
  const tokenIdOf = async (token: string) => (await db.selectFrom('auth_tokens').select('id').where('token_hash', '=', hashSecret(token)).executeTakeFirstOrThrow()).id;

  before(async () => {
    pgs = await startTestPostgres();
    db = openDb({ url: pgs.url });
    await migrateToLatest(db);
    app = await buildAuthApp(db, audits, { sessionCache: { ttlMs: TTL_MS, now: () => clock.now } });
    for (const [name, role] of [
      ['alice', 'admin'],
      ['olga', 'operator'],
      ['vic', 'viewer'],
      ['oscar', 'operator'],
    ] as const) {
      const r = await createUser(db, { name, role, password: PASSWORD });
      assert.ok(r.ok);
      ids[name] = r.value.id;
    }
    const svc = await createUser(db, { name: 'ci-bot', role: 'operator', service: true });
    assert.ok(svc.ok);
  });
  after(async () => {
    await app?.close();
    await db?.destroy();
    await pgs?.stop();
  });

  it('is used: a revocation made behind its back (SQL, another process) holds only until the TTL', async () => {
    const { token } = await login('oscar');
    assert.equal((await me(token)).statusCode, 200);
    await db.updateTable('auth_tokens').set({ revoked_at: new Date() }).where('token_hash', '=', hashSecret(token)).execute();
    // The bound of a change this process did not make: still answered from the cache...
    assert.equal((await me(token)).statusCode, 200, 'the cache answered (else this test proves nothing below)');
    clock.now += TTL_MS;
    // ...and refused once the TTL is over.
    assert.equal((await me(token)).statusCode, 401);
    assert.equal((await meCookie(token)).statusCode, 401);
  });

  it('refuses a token replayed after logout at once, every time, by bearer or cookie, and audits the logout', async () => {
    const { token } = await login('olga');
    assert.equal((await me(token)).json().user.name, 'olga');
    assert.equal((await meCookie(token)).json().user.name, 'olga');
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { authorization: `Bearer ${token}` } });
    assert.equal(out.statusCode, 200);
    assert.ok(audits.some((a) => a.eventType === 'logout' && a.actor?.name === 'olga'));
    for (let i = 0; i < 5; i++) {
      const r = await me(token);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().error_code, 'UNAUTHENTICATED');
      assert.equal((await meCookie(token)).statusCode, 401);
    }
    const again = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { authorization: `Bearer ${token}` } });
    assert.equal(again.statusCode, 401, 'a second logout with the dead token is refused too');
  });

  it('refuses a token an admin revoked through the API at once, and audits it', async () => {
    const admin = (await login('alice')).token;
    const victim = (await login('vic')).token;
    assert.equal((await me(victim)).statusCode, 200);
    const id = await tokenIdOf(victim);
    const r = await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${id}`, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal((await me(victim)).statusCode, 401);
    assert.ok(audits.some((a) => a.eventType === 'token_revoked' && a.details.token_id === id && a.actor?.name === 'alice'));
    assert.equal((await me(admin)).statusCode, 200, "the admin's own token is looked up again and still live");
  });

  it('refuses a cached token once it expires, well inside the TTL', async () => {
    const t = await issueToken(db, ids.olga ?? '', { ttlMs: 5_000 });
    clock.now = Date.now();
    assert.equal((await me(t.token)).statusCode, 200);
    clock.now = t.expiresAt.getTime();
    assert.equal((await me(t.token)).statusCode, 401);
    clock.now = t.expiresAt.getTime() - 1;
    assert.equal((await me(t.token)).statusCode, 200, 'the same token a millisecond earlier (so the refusal was the expiry)');
    // Far future and far past clocks: nothing cached survives either.
    clock.now = 8.64e15;
    assert.equal((await me(t.token)).statusCode, 401);
    clock.now = 0;
    const old = await issueToken(db, ids.olga ?? '', { ttlMs: -1000 });
    clock.now = Date.now();
    assert.equal((await me(old.token)).statusCode, 401, 'a token issued already expired');
  });

  it('never answers with another identity: alternating users, near-miss tokens, ids and hashes as tokens', async () => {
    clock.now = Date.now();
    const a = (await login('alice')).token;
    const o = (await login('olga')).token;
    for (let i = 0; i < 10; i++) {
      assert.equal((await me(a)).json().user.name, 'alice');
      assert.equal((await me(o)).json().user.name, 'olga');
    }
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    for (const bad of [flip(a), a.slice(0, -1), `${a}x`, a.toUpperCase(), await tokenIdOf(a), hashSecret(a), ids.alice ?? '', `${o.slice(0, 20)}${a.slice(20)}`]) {
      assert.equal((await me(bad)).statusCode, 401, `refused: ${bad.slice(0, 24)}…`);
    }
  });

  it("refuses a service account's API token once revoked, and other kinds of secret presented as a session", async () => {
    clock.now = Date.now();
    const admin = (await login('alice')).token;
    const api = await createApiToken(db, { name: 'deploy', userName: 'ci-bot' });
    assert.ok(api.ok);
    assert.equal((await me(api.value.token)).json().user.name, 'ci-bot');
    const del = await app.inject({ method: 'DELETE', url: `/api/tokens/${api.value.id}`, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(del.statusCode, 200, del.body);
    const after = await me(api.value.token);
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().error_code, 'TOKEN_REVOKED');
    const key = await createEnrollmentKey(db, {});
    assert.equal((await me(key.key)).statusCode, 401, 'an enrollment key is no session');
    assert.equal((await me(`gcs_${key.key.slice(4)}`)).statusCode, 401);
  });

  it('refuses hostile tokens by bearer and cookie', async () => {
    clock.now = Date.now();
    const hostile = ['0', '-1', String(2 ** 31 - 1), String(2 ** 32 - 1), '9223372036854775807', 'x'.repeat(100_000), 'gcs_'.padEnd(201, 'A'), 'gcs_\u0000', 'gcs_%00', 'gcs_\ud800'];
    for (const t of hostile) {
      for (const headers of [{ authorization: `Bearer ${t}` }, { cookie: `gc_session=${t}` }]) {
        const r = await app.inject({ url: '/api/auth/me', headers }).catch((e: Error) => ({ statusCode: 400, message: e.message }));
        assert.ok(r.statusCode === 401 || r.statusCode === 400 || r.statusCode === 431, `${t.slice(0, 12)}: ${r.statusCode}`);
      }
    }
  });

  it('still audits what a cached caller is refused, with the right actor', async () => {
    clock.now = Date.now();
    const v = (await login('vic')).token;
    assert.equal((await me(v)).statusCode, 200);
    const before = audits.length;
    for (let i = 0; i < 3; i++) {
      const r = await app.inject({ method: 'POST', url: '/api/machines/m1/backstage', headers: { authorization: `Bearer ${v}` } });
      assert.equal(r.statusCode, 403);
    }
    const denied = audits.slice(before).filter((a) => a.eventType === 'access_denied');
    assert.equal(denied.length, 3);
    assert.ok(denied.every((a) => a.actor?.name === 'vic' && a.actor.role === 'viewer'));
  });
});
