/**
 * API tokens for HTTP automation (issue 14 item 6) against a real PostgreSQL: service accounts,
 * admin-only create / list / revoke, hashed storage, TOKEN_REVOKED / TOKEN_EXPIRED, last-used
 * throttling, audit of creation, revocation and use, and hostile input.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { hashSecret } from '../../services/auth/secrets.js';
import { main as cli } from '../../services/auth/cli.js';
import { type AuditEvent, authPlugin } from '../../services/auth/plugin.js';
import { createUser } from '../../services/auth/users.js';
import { installErrorHandler } from '../../services/gateway/errors.js';
import { type TestPostgres, startTestPostgres } from '../support/servers.js';

const PASSWORD = 'correct horse battery';
type Envelope = { error_code: string; message: string; correlation_id: string };
type TokenInfo = { id: string; name: string; user: string; user_id: string; created_at: string; expires_at: string | null; last_used_at: string | null; revoked_at: string | null };

describe('API tokens (real PostgreSQL)', () => {
  let pgs: TestPostgres;
  let db: Kysely<Database>;
  let app: FastifyInstance;
  const audits: AuditEvent[] = [];
  let admin: Record<string, string>;
  let operator: Record<string, string>;

  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const create = (headers: Record<string, string>, payload: unknown) => app.inject({ method: 'POST', url: '/api/tokens', headers, payload: payload as object });
  const list = async () => (await app.inject({ url: '/api/tokens', headers: admin })).json().tokens as TokenInfo[];

  before(async () => {
    pgs = await startTestPostgres();
    db = openDb({ url: pgs.url });
    await migrateToLatest(db);
    app = Fastify();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    // The host's envelope handler, as in the gateway (the auth routes have none of their own).
    installErrorHandler(app);
    // A 300 ms interval instead of a minute, so the throttle is observable in a test.
    await app.register(authPlugin, {
      db,
      audit: async (ev) => {
        audits.push(ev);
      },
      apiTokens: { touchEveryMs: 300 },
    });
    app.post('/api/backstage', { preHandler: app.requireRole('admin', 'operator') }, async (req) => ({ ran_as: req.user?.name }));
    await app.ready();
    for (const [name, role] of [
      ['alice', 'admin'],
      ['olga', 'operator'],
    ] as const)
      assert.ok((await createUser(db, { name, role, password: PASSWORD })).ok);
    const tokenOf = async (name: string) => (await app.inject({ method: 'POST', url: '/api/auth/login', payload: { name, password: PASSWORD } })).json().token as string;
    admin = as(await tokenOf('alice'));
    operator = as(await tokenOf('olga'));
  });
  after(async () => {
    await app?.close();
    await db?.destroy();
    await pgs?.stop();
  });

  it('creates a service account from the CLI that can never sign in with a password', async () => {
    const out: string[] = [];
    const logged: { eventType: string; details: Record<string, unknown> }[] = [];
    const audit = async (eventType: string, details: Record<string, unknown>) => {
      logged.push({ eventType, details });
    };
    const io = { env: { DATABASE_URL: pgs.url, GC_PASSWORD: 'a-password-that-is-ignored' }, out: (l: string) => out.push(l), err: (l: string) => out.push(l), audit };
    assert.equal(await cli(['users', 'create', '--name', 'ci-bot', '--role', 'operator', '--service'], io), 0, out.join('\n'));
    assert.ok(!out.some((l) => l.startsWith('password:')), 'no password is printed for a service account');
    const row = await db.selectFrom('users').select(['password_hash', 'service']).where('name', '=', 'ci-bot').executeTakeFirstOrThrow();
    assert.equal(row.password_hash, null);
    assert.equal(row.service, true);
    const id = (await db.selectFrom('users').select('id').where('name', '=', 'ci-bot').executeTakeFirstOrThrow()).id;
    assert.deepEqual(logged, [{ eventType: 'user_created', details: { user_id: id, name: 'ci-bot', role: 'operator', service: true } }]);
    for (const password of ['a-password-that-is-ignored', '', 'x'.repeat(10)]) {
      const r = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { name: 'ci-bot', password: password || 'p' } });
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().error_code, 'UNAUTHENTICATED');
    }
    assert.equal(audits.filter((a) => a.eventType === 'login_failed' && a.details.reason === 'service_account').length, 3);
    // The database refuses a service account with a password, or a technician without one.
    await assert.rejects(db.updateTable('users').set({ password_hash: 'scrypt$x' }).where('name', '=', 'ci-bot').execute(), /users_service_has_no_password/);
    await assert.rejects(db.updateTable('users').set({ password_hash: null }).where('name', '=', 'olga').execute(), /users_service_has_no_password/);
  });

  it('lets an admin create a token shown once, stores only its hash, and the token acts as its user', async () => {
    const r = await create(admin, { name: 'nightly backup', user: 'ci-bot', expires_in_days: 30 });
    assert.equal(r.statusCode, 201, r.body);
    const { id, token, expires_at } = r.json() as { id: string; token: string; expires_at: string };
    assert.match(token, /^gca_[A-Za-z0-9_-]{43}$/);
    const days = (Date.parse(expires_at) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in 30 days, not ${days}`);

    const stored = await db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(stored.token_hash, hashSecret(token));
    assert.ok(!JSON.stringify(stored).includes(token.slice(4)), 'the clear token is not stored');
    const listed = (await app.inject({ url: '/api/tokens', headers: admin })).body;
    assert.ok(!listed.includes(token.slice(4)) && !listed.includes(stored.token_hash), 'the list shows neither the token nor its hash');
    const info = (await list()).find((t) => t.id === id);
    assert.deepEqual(
      { name: info?.name, user: info?.user, last_used_at: info?.last_used_at, revoked_at: info?.revoked_at },
      { name: 'nightly backup', user: 'ci-bot', last_used_at: null, revoked_at: null },
    );
    const created = audits.find((a) => a.eventType === 'api_token_created' && a.details.token_id === id);
    assert.equal(created?.actor?.name, 'alice');
    assert.equal(created?.details.user_name, 'ci-bot');

    const ran = await app.inject({ method: 'POST', url: '/api/backstage', headers: as(token) });
    assert.equal(ran.statusCode, 200);
    assert.equal(ran.json().ran_as, 'ci-bot');
    const me = await app.inject({ url: '/api/auth/me', headers: as(token) });
    assert.deepEqual(me.json().user.api_token, { id, name: 'nightly backup' });
    // Logout ends sessions; an API token is revoked by an admin, so logout leaves it working.
    const logout = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: as(token) });
    assert.equal(logout.json().error_code, 'CONFLICT');
    assert.equal((await app.inject({ url: '/api/auth/me', headers: as(token) })).statusCode, 200);
    // Its user is an operator: admin routes stay closed, and the denial names the token.
    const denied = await app.inject({ url: '/api/tokens', headers: as(token) });
    assert.equal(denied.statusCode, 403);
    const denial = audits.findLast((a) => a.eventType === 'access_denied');
    assert.equal(denial?.actor?.name, 'ci-bot');
    assert.equal(denial?.details.api_token_id, id);
    assert.equal(denial?.details.api_token_name, 'nightly backup');
  });

  it('writes last_used_at and audits the use at most once per interval, however busy the script', async () => {
    const { id, token } = (await create(admin, { name: 'busy', user: 'ci-bot' })).json() as { id: string; token: string };
    const usedAudits = () => audits.filter((a) => a.eventType === 'api_token_used' && a.details.api_token_id === id);
    for (let i = 0; i < 20; i++) assert.equal((await app.inject({ method: 'POST', url: '/api/backstage', headers: as(token) })).statusCode, 200);
    const first = (await list()).find((t) => t.id === id)?.last_used_at;
    assert.ok(first, 'last_used_at is set after use');
    assert.equal(usedAudits().length, 1, 'twenty requests within the interval: one write, one audit');
    assert.equal(usedAudits()[0]?.actor?.name, 'ci-bot');
    assert.equal(usedAudits()[0]?.details.path, '/api/backstage');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await app.inject({ method: 'POST', url: '/api/backstage', headers: as(token) })).statusCode, 200);
    const second = (await list()).find((t) => t.id === id)?.last_used_at;
    assert.ok(second && Date.parse(second) > Date.parse(first), 'a use after the interval moves last_used_at');
    assert.equal(usedAudits().length, 2);
  });

  it('answers a revoked token with 401 TOKEN_REVOKED and an expired one with 401 TOKEN_EXPIRED', async () => {
    const { id, token } = (await create(admin, { name: 'to-revoke', user: 'ci-bot' })).json() as { id: string; token: string };
    const rv = await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: admin });
    assert.equal(rv.statusCode, 200);
    const revoked = audits.find((a) => a.eventType === 'api_token_revoked' && a.details.token_id === id);
    assert.equal(revoked?.actor?.name, 'alice');
    for (const url of ['/api/backstage', '/api/auth/me']) {
      const r = await app.inject({ method: url === '/api/backstage' ? 'POST' : 'GET', url, headers: as(token) });
      assert.equal(r.statusCode, 401);
      assert.equal((r.json() as Envelope).error_code, 'TOKEN_REVOKED');
      assert.ok((r.json() as Envelope).correlation_id);
    }
    assert.ok((await list()).find((t) => t.id === id)?.revoked_at);
    const again = await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: admin });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error_code, 'CONFLICT');
    // The name is free again once the old token is revoked; a live duplicate is refused.
    assert.equal((await create(admin, { name: 'to-revoke', user: 'ci-bot' })).statusCode, 201);
    assert.equal((await create(admin, { name: 'to-revoke', user: 'ci-bot' })).json().error_code, 'CONFLICT');

    const exp = (await create(admin, { name: 'short', user: 'ci-bot', expires_in_days: 1 })).json() as { id: string; token: string };
    assert.equal((await app.inject({ method: 'POST', url: '/api/backstage', headers: as(exp.token) })).statusCode, 200);
    await db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', exp.id)
      .execute();
    const r = await app.inject({ method: 'POST', url: '/api/backstage', headers: as(exp.token) });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().error_code, 'TOKEN_EXPIRED');

    const bogus = await app.inject({ method: 'POST', url: '/api/backstage', headers: as(`gca_${'A'.repeat(43)}`) });
    assert.equal(bogus.statusCode, 401);
    assert.equal(bogus.json().error_code, 'UNAUTHENTICATED');
  });

  it('is admin-only: an operator can neither list, create nor revoke tokens, not even its own user', async () => {
    const { id, token } = (await create(admin, { name: 'alices-script', user: 'alice' })).json() as { id: string; token: string };
    assert.equal((await app.inject({ url: '/api/tokens', headers: operator })).statusCode, 403);
    assert.equal((await create(operator, { name: 'mine', user: 'olga' })).statusCode, 403);
    const rv = await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: operator });
    assert.equal(rv.statusCode, 403);
    assert.equal(rv.json().error_code, 'FORBIDDEN');
    assert.equal((await app.inject({ url: '/api/auth/me', headers: as(token) })).statusCode, 200, 'the token still works');
    assert.equal((await app.inject({ url: '/api/tokens' })).statusCode, 401);
  });

  it('refuses hostile input with a 400 envelope and unknown ids with a 404 envelope', async () => {
    const bad: unknown[] = [
      { name: 'nul\u0000byte', user: 'ci-bot' },
      { name: 'lone \ud800 surrogate', user: 'ci-bot' },
      { name: 'x'.repeat(100_000), user: 'ci-bot' },
      { name: '', user: 'ci-bot' },
      { name: ' leading space', user: 'ci-bot' },
      { name: 'ok', user: 'ci\u0000bot' },
      { name: 'ok', user: 'x\ud800' },
      { name: 'ok', user: 'u'.repeat(100_000) },
      ...[0, -1, 1.5, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 53, 2 ** 63 - 1, '30', null].map((d) => ({ name: 'ok', user: 'ci-bot', expires_in_days: d })),
      { name: 'ok', user: 'ci-bot', extra: true },
      { name: 'ok' },
      [],
    ];
    for (const payload of bad) {
      const r = await create(admin, payload);
      assert.equal(r.statusCode, 400, `${JSON.stringify(payload).slice(0, 80)} -> ${r.statusCode} ${r.body.slice(0, 200)}`);
      const e = r.json() as Envelope;
      assert.equal(e.error_code, 'VALIDATION_FAILED');
      assert.ok(e.correlation_id && e.message);
    }
    assert.equal((await db.selectFrom('api_tokens').select('id').where('name', '=', 'ok').execute()).length, 0, 'nothing was created');

    const noUser = await create(admin, { name: 'ok', user: 'nobody' });
    assert.equal(noUser.statusCode, 404);
    assert.equal(noUser.json().error_code, 'NOT_FOUND');
    const unknown = await app.inject({ method: 'DELETE', url: '/api/tokens/00000000-0000-4000-8000-000000000000', headers: admin });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error_code, 'NOT_FOUND');
    for (const id of ['not-a-uuid', 'x'.repeat(90), '%00', '00000000-0000-4000-8000-00000000000g']) {
      const r = await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: admin });
      assert.equal(r.statusCode, 400, id.slice(0, 20));
      assert.equal(r.json().error_code, 'VALIDATION_FAILED');
    }
    // An overlong bearer never reaches the database lookup and is simply unknown.
    const long = await app.inject({ url: '/api/auth/me', headers: as(`gca_${'A'.repeat(100_000)}`) });
    assert.equal(long.statusCode, 401);
    assert.equal(long.json().error_code, 'UNAUTHENTICATED');
  });
});
