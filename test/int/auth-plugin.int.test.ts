import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { openDb } from '../../infra/db/connect.js';
import { freePort } from '../../infra/servers/free-port.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { main as cli } from '../../services/auth/cli.js';
import type { AuditEvent, AuthPluginOptions } from '../../services/auth/plugin.js';
import { hashPassword, verifyPassword } from '../../services/auth/password.js';
import { createUser } from '../../services/auth/users.js';
import { buildAuthApp } from '../support/auth-app.js';
import { type TestPostgres, startTestPostgres } from '../support/servers.js';

const PASSWORD = 'correct horse battery';

const buildApp = (db: Kysely<Database>, audits: AuditEvent[], extra: Partial<AuthPluginOptions> = {}) => buildAuthApp(db, audits, extra);

async function login(app: FastifyInstance, name: string, password: string, remoteAddress = '127.0.0.1') {
  return app.inject({ method: 'POST', url: '/api/auth/login', payload: { name, password }, remoteAddress });
}

describe('auth plugin (real PostgreSQL)', () => {
  let pgs: TestPostgres;
  let db: Kysely<Database>;
  let app: FastifyInstance;
  const audits: AuditEvent[] = [];
  const ids: Record<string, string> = {};

  before(async () => {
    pgs = await startTestPostgres();
    db = openDb({ url: pgs.url });
    await migrateToLatest(db);
    app = await buildApp(db, audits);
    for (const [name, role] of [
      ['alice', 'admin'],
      ['olga', 'operator'],
      ['vic', 'viewer'],
      ['brute', 'operator'],
    ] as const) {
      const r = await createUser(db, { name, role, password: PASSWORD });
      assert.ok(r.ok);
      ids[name] = r.value.id;
    }
  });
  after(async () => {
    await app?.close();
    await db?.destroy();
    await pgs?.stop();
  });

  it('hashes passwords with scrypt and a per-user salt, and verifies them', async () => {
    const a = await hashPassword('s3cret-password');
    const b = await hashPassword('s3cret-password');
    assert.match(a, /^scrypt\$32768\$8\$1\$/);
    assert.notEqual(a, b, 'two hashes of one password differ (salt)');
    assert.equal(await verifyPassword('s3cret-password', a), true);
    assert.equal(await verifyPassword('s3cret-passwore', a), false);
    const row = await db.selectFrom('users').select('password_hash').where('name', '=', 'alice').executeTakeFirstOrThrow();
    assert.ok(row.password_hash && !row.password_hash.includes(PASSWORD));
    assert.equal(await verifyPassword(PASSWORD, row.password_hash ?? ''), true);
  });

  it('logs in with a cookie and a bearer token, resolves /me, and logout revokes the token', async () => {
    const res = await login(app, 'olga', PASSWORD);
    assert.equal(res.statusCode, 200);
    const body = res.json() as { token: string; user: { name: string; role: string } };
    assert.deepEqual(body.user, { id: ids.olga, name: 'olga', role: 'operator' });
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /^gc_session=gcs_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+/);
    const stored = await db
      .selectFrom('auth_tokens')
      .select('token_hash')
      .where('user_id', '=', ids.olga ?? '')
      .execute();
    assert.ok(
      stored.every((t) => t.token_hash !== body.token),
      'only a hash of the token is stored',
    );

    const viaBearer = await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${body.token}` } });
    assert.equal(viaBearer.json().user.name, 'olga');
    const viaCookie = await app.inject({ url: '/api/auth/me', headers: { cookie: `theme=dark; gc_session=${body.token}` } });
    assert.equal(viaCookie.json().user.name, 'olga');
    assert.ok(audits.some((a) => a.eventType === 'login' && a.actor?.name === 'olga'));

    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { authorization: `Bearer ${body.token}` } });
    assert.equal(out.statusCode, 200);
    const after = await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${body.token}` } });
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().error_code, 'UNAUTHENTICATED');
    assert.ok(String(after.json().correlation_id).length > 0);
  });

  it('resolves request.user on WebSocket upgrades from the session cookie', async () => {
    const token = (await login(app, 'vic', PASSWORD)).json().token as string;
    const read = async (headers: Record<string, string>) => {
      // Listen before the upgrade completes: the route sends right after it.
      let got: (m: string) => void = () => {};
      const msg = new Promise<string>((res) => {
        got = res;
      });
      const ws = await app.injectWS('/ws', { headers }, { onInit: (w) => w.once('message', (d: unknown) => got(String(d))) });
      const text = await msg;
      ws.terminate();
      return text;
    };
    assert.equal(await read({ cookie: `gc_session=${token}` }), 'vic');
    assert.equal(await read({ cookie: 'gc_session=gcs_forged' }), 'anonymous');
  });

  it('locks an account after 5 failed logins, even for the right password, and audits it', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push((await login(app, 'brute', `guess-${i}`)).json().error_code);
    assert.deepEqual(codes, ['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'ACCOUNT_LOCKED']);
    const locked = await login(app, 'brute', PASSWORD);
    assert.equal(locked.statusCode, 423);
    assert.equal(locked.json().error_code, 'ACCOUNT_LOCKED');
    assert.equal(audits.filter((a) => a.eventType === 'login_failed' && a.details.name === 'brute').length, 6);
    assert.ok(audits.some((a) => a.eventType === 'account_locked' && a.details.user_id === ids.brute));
    // The lock lasts 15 minutes; move it into the past instead of waiting.
    const row = await db.selectFrom('users').select('locked_until').where('name', '=', 'brute').executeTakeFirstOrThrow();
    assert.ok(row.locked_until && row.locked_until.getTime() - Date.now() > 14 * 60_000);
    await db
      .updateTable('users')
      .set({ locked_until: new Date(Date.now() - 1000) })
      .where('name', '=', 'brute')
      .execute();
    assert.equal((await login(app, 'brute', PASSWORD)).statusCode, 200);
  });

  it('rate-limits logins per IP address before doing any password work', async () => {
    const limited = await buildApp(db, [], { login: { perIp: { max: 3, windowMs: 600_000 } } });
    try {
      const codes: number[] = [];
      for (const n of ['x1', 'x2', 'x3', 'x4']) codes.push((await login(limited, n, 'nope-nope', '10.9.9.9')).statusCode);
      assert.deepEqual(codes, [401, 401, 401, 429]);
      const r = await login(limited, 'alice', PASSWORD, '10.9.9.9');
      assert.equal(r.json().error_code, 'RATE_LIMITED');
      assert.ok(Number(r.headers['retry-after']) > 0);
      assert.equal((await login(limited, 'alice', PASSWORD, '10.9.9.10')).statusCode, 200, 'another address is not affected');
    } finally {
      await limited.close();
    }
  });

  it('gives a viewer 403 on an admin/operator route and audits the denial', async () => {
    const token = (await login(app, 'vic', PASSWORD)).json().token as string;
    const res = await app.inject({ method: 'POST', url: '/api/machines/m1/backstage', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 403);
    const body = res.json();
    assert.equal(body.error_code, 'FORBIDDEN');
    assert.equal(body.correlation_id.length > 0, true);
    const denial = audits.find((a) => a.eventType === 'access_denied' && a.actor?.name === 'vic');
    assert.ok(denial, 'access_denied audited');
    assert.equal(denial.details.action, 'POST /api/machines/:agentId/backstage');
    assert.match(String(denial.details.reason), /viewer/);

    const anon = await app.inject({ method: 'POST', url: '/api/machines/m1/backstage' });
    assert.equal(anon.statusCode, 401);
    const opToken = (await login(app, 'olga', PASSWORD)).json().token as string;
    const ok = await app.inject({ method: 'POST', url: '/api/machines/m1/backstage', headers: { authorization: `Bearer ${opToken}` } });
    assert.deepEqual(ok.json(), { ran: true });
  });

  it('refuses canAccessMachine without a grant and allows it after an admin grants it', async () => {
    const olga = { id: ids.olga ?? '', name: 'olga', role: 'operator' as const };
    assert.equal(await app.canAccessMachine(olga, 'm1'), false);
    assert.deepEqual(await app.accessibleMachines(olga), []);

    const admin = (await login(app, 'alice', PASSWORD)).json().token as string;
    const viewer = (await login(app, 'vic', PASSWORD)).json().token as string;
    const denied = await app.inject({ method: 'POST', url: `/api/users/${ids.olga}/grants`, payload: { agent_id: 'm1' }, headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(denied.statusCode, 403);
    assert.equal(await app.canAccessMachine(olga, 'm1'), false);

    const g = await app.inject({ method: 'POST', url: `/api/users/${ids.olga}/grants`, payload: { agent_id: 'm1' }, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(g.statusCode, 201);
    assert.equal(await app.canAccessMachine(olga, 'm1'), true);
    assert.equal(await app.canAccessMachine(olga, 'm2'), false);
    assert.deepEqual(await app.accessibleMachines(olga), ['m1']);
    const bad = await app.inject({ method: 'POST', url: `/api/users/${ids.olga}/grants`, payload: { agent_id: 'm.>' }, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(bad.json().error_code, 'INVALID_ID');
    assert.equal(await app.canAccessMachine({ id: ids.alice ?? '', name: 'alice', role: 'admin' }, 'm2'), true);
  });

  it('lets an admin create users and revoke tokens; validates bodies with the error envelope', async () => {
    const admin = (await login(app, 'alice', PASSWORD)).json().token as string;
    const auth = { authorization: `Bearer ${admin}` };
    const created = await app.inject({ method: 'POST', url: '/api/users', payload: { name: 'newbie', role: 'viewer' }, headers: auth });
    assert.equal(created.statusCode, 201);
    const pw = created.json().generated_password as string;
    assert.ok(pw.length >= 20);
    const dup = await app.inject({ method: 'POST', url: '/api/users', payload: { name: 'newbie', role: 'viewer' }, headers: auth });
    assert.equal(dup.json().error_code, 'CONFLICT');
    const invalid = await app.inject({ method: 'POST', url: '/api/users', payload: { name: 'x y', role: 'root' }, headers: auth });
    assert.equal(invalid.statusCode, 400);
    assert.equal(invalid.json().error_code, 'VALIDATION_FAILED');

    const newbie = await login(app, 'newbie', pw);
    assert.equal(newbie.statusCode, 200);
    const tokenId = (await db.selectFrom('auth_tokens').select('id').where('user_id', '=', newbie.json().user.id).executeTakeFirstOrThrow()).id;
    const rv = await app.inject({ method: 'DELETE', url: `/api/auth/tokens/${tokenId}`, headers: auth });
    assert.equal(rv.statusCode, 200);
    const me = await app.inject({ url: '/api/auth/me', headers: { authorization: `Bearer ${newbie.json().token}` } });
    assert.equal(me.statusCode, 401);
  });

  it("enrollment-key create from the CLI takes the route's bounds: hostile --ttl-hours and --site are refused (2), no key is made", async () => {
    const out: string[] = [];
    const logged: CliEvent[] = [];
    const io = { env: { DATABASE_URL: pgs.url }, out: (l: string) => out.push(l), err: (l: string) => out.push(l), audit: cliAudit(logged) };
    const keys = async () =>
      Number(
        (
          await db
            .selectFrom('enrollment_keys')
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await keys();
    // Before: 2^31-1 hours made a key valid until the year 247010 (the route caps a year); 2^32-1 and up an Invalid Date Postgres refused with a throw; NUL a throw; 100k characters stored.
    const ttls = ['0', String(2 ** 31 - 1), String(2 ** 32 - 1), '9223372036854775807', '1e309', 'Infinity', 'NaN', '', 'abc', String(24 * 365 + 1)];
    const sites = ['\ud800', 'x\udfffy', 'a\u0000b', 'x'.repeat(100_000)];
    for (const argv of [...ttls.map((t) => ['--ttl-hours', t]), ...sites.map((s) => ['--site', s])]) {
      out.length = 0;
      assert.equal(await cli(['enrollment-key', 'create', ...argv], io), 2, `${JSON.stringify(argv).slice(0, 60)}: ${out.join(' ')}`);
      assert.match(out.join(' '), /--(ttl-hours|site)/);
    }
    assert.equal(await keys(), before, 'no key was created');
    assert.deepEqual(logged, [], 'a refused command records nothing');
    out.length = 0;
    assert.equal(await cli(['enrollment-key', 'create', '--ttl-hours', String(24 * 365), '--site', 'ok'], io), 0, out.join(' '));
    assert.equal(await keys(), before + 1);
    const key = await db.selectFrom('enrollment_keys').select(['id', 'expires_at']).where('site', '=', 'ok').executeTakeFirstOrThrow();
    // The route's event and details (admin-routes.ts), so both doors leave one kind of row.
    assert.deepEqual(logged, [{ eventType: 'enrollment_key_created', details: { key_id: key.id, site: 'ok', reusable: false, expires_at: key.expires_at.toISOString() } }]);
  });

  it('creates the first admin and grants from the CLI, never with a default password', async () => {
    const out: string[] = [];
    const logged: CliEvent[] = [];
    const io = { env: { DATABASE_URL: pgs.url }, out: (l: string) => out.push(l), err: (l: string) => out.push(l), audit: cliAudit(logged) };
    assert.equal(await cli(['users', 'create', '--name', 'root', '--role', 'admin'], io), 0);
    const pw = out.find((l) => l.startsWith('password: '))?.slice('password: '.length);
    assert.ok(pw && pw.length >= 20);
    assert.equal((await login(app, 'root', pw)).statusCode, 200);
    assert.equal(await cli(['users', 'create', '--name', 'root', '--role', 'admin'], io), 1);
    assert.equal(await cli(['users', 'create', '--name', 'carl', '--role', 'operator'], { ...io, env: { ...io.env, GC_PASSWORD: 'from-the-env-var' } }), 0);
    assert.equal((await login(app, 'carl', 'from-the-env-var')).statusCode, 200);
    assert.equal(await cli(['users', 'grant', '--name', 'carl', '--machine', '*'], io), 0);
    const carl = (await db.selectFrom('users').select('id').where('name', '=', 'carl').executeTakeFirstOrThrow()).id;
    assert.equal(await app.accessibleMachines({ id: carl, name: 'carl', role: 'operator' }), '*');
    assert.equal(await cli(['users', 'create', '--name', 'x', '--role', 'king'], io), 2);
    const ids = Object.fromEntries((await db.selectFrom('users').select(['id', 'name']).where('name', 'in', ['root', 'carl']).execute()).map((u) => [u.name, u.id]));
    // The routes' events and details; the refused second `root` and the bad role record nothing.
    assert.deepEqual(logged, [
      { eventType: 'user_created', details: { user_id: ids.root, name: 'root', role: 'admin' } },
      { eventType: 'user_created', details: { user_id: ids.carl, name: 'carl', role: 'operator' } },
      { eventType: 'machine_granted', details: { user_id: ids.carl, agent_id: '*' } },
    ]);
  });

  it('changes nothing from the CLI when the audit log cannot be reached: no NATS_URL, or nothing listening there (2)', async () => {
    const out: string[] = [];
    const users = async () => (await db.selectFrom('users').select('name').where('name', '=', 'unaudited').execute()).length;
    const keys = async () =>
      Number(
        (
          await db
            .selectFrom('enrollment_keys')
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const keysBefore = await keys();
    const closed = `nats://127.0.0.1:${await freePort()}`;
    for (const env of [{ DATABASE_URL: pgs.url }, { DATABASE_URL: pgs.url, NATS_URL: closed }]) {
      const io = { env, out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
      for (const argv of [
        ['users', 'create', '--name', 'unaudited', '--role', 'admin'],
        ['users', 'grant', '--name', 'root', '--machine', 'unaudited-agent'],
        ['enrollment-key', 'create'],
      ]) {
        out.length = 0;
        assert.equal(await cli(argv, io), 2, `${argv.join(' ')} with ${JSON.stringify(env.NATS_URL)}: ${out.join(' ')}`);
        assert.equal(out.length, 1, `one line: ${out.join(' | ')}`);
        assert.match(out[0] ?? '', /nothing was changed/);
      }
    }
    assert.equal(await users(), 0, 'no user was created');
    assert.equal((await db.selectFrom('machine_grants').select('agent_id').where('agent_id', '=', 'unaudited-agent').execute()).length, 0, 'no grant was made');
    assert.equal(await keys(), keysBefore, 'no key was created');
  });
});

type CliEvent = { eventType: string; details: Record<string, unknown> };
/** The CLI's audit sink for tests of the database alone (the stack test publishes to the real stream). */
const cliAudit = (logged: CliEvent[]) => async (eventType: string, details: Record<string, unknown>) => {
  logged.push({ eventType, details });
};
