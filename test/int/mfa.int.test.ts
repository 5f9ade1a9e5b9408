/**
 * The second factor (issue 16 item 3) against real PostgreSQL, with a fixed clock: set-up, the
 * two-step sign-in, wrong and replayed codes, the ±1 step window, recovery codes used once, the
 * lockout across challenges, GC_MFA_REQUIRED enforcement (HTTP and WebSocket) and the admin reset.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { createApiToken } from '../../services/auth/api-tokens.js';
import type { AuditEvent, AuthPluginOptions } from '../../services/auth/plugin.js';
import type { Role } from '../../services/auth/roles.js';
import { totpCode } from '../../services/auth/totp.js';
import { createUser } from '../../services/auth/users.js';
import { buildAuthApp } from '../support/auth-app.js';
import { type TestPostgres, startTestPostgres } from '../support/servers.js';

const PASSWORD = 'correct horse battery';
const STEP = 30_000;
// A fixed clock, 10 s into a time step; tests move it by whole steps.
const clock = { t: Date.UTC(2026, 0, 5, 9, 0, 10) };

const buildApp = (db: Kysely<Database>, audits: AuditEvent[], extra: Partial<AuthPluginOptions> = {}) =>
  buildAuthApp(db, audits, { login: { now: () => clock.t, perIp: { max: 10_000, windowMs: 60_000 }, perName: { max: 10_000, windowMs: 60_000 } }, ...extra }, '/ws/probe');

type Json = Record<string, unknown>;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('second factor (TOTP) with a fixed clock (real PostgreSQL)', () => {
  let pgs: TestPostgres;
  let db: Kysely<Database>;
  let app: FastifyInstance;
  let strict: FastifyInstance;
  const audits: AuditEvent[] = [];
  const ids: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  const recovery: Record<string, string[]> = {};

  const password = (a: FastifyInstance, name: string, remoteAddress = '127.0.0.1') => a.inject({ method: 'POST', url: '/api/auth/login', payload: { name, password: PASSWORD }, remoteAddress });
  const codeStep = (a: FastifyInstance, challenge: string, code: string) => a.inject({ method: 'POST', url: '/api/auth/login/mfa', payload: { challenge, code } });
  const sessionOf = async (a: FastifyInstance, name: string) => {
    const r = await password(a, name);
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json() as Json;
    assert.equal(b.mfa_required, undefined, `${name} has no factor yet: the password gives a session`);
    return String(b.token);
  };
  const challengeOf = async (a: FastifyInstance, name: string) => {
    const r = await password(a, name);
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json() as Json;
    assert.equal(b.mfa_required, true);
    assert.equal(r.headers['set-cookie'], undefined, 'the password step sets no session cookie');
    assert.equal(b.token, undefined);
    return String(b.challenge);
  };
  /** Sets up and confirms a factor for `name` through the API; keeps its secret and recovery codes. */
  const enroll = async (a: FastifyInstance, name: string) => {
    const token = await sessionOf(a, name);
    const s = await a.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(token) });
    assert.equal(s.statusCode, 200, s.body);
    secrets[name] = String((s.json() as Json).secret);
    const c = await a.inject({ method: 'POST', url: '/api/auth/mfa/confirm', headers: bearer(token), payload: { code: totpCode(secrets[name]!, clock.t) } });
    assert.equal(c.statusCode, 200, c.body);
    recovery[name] = (c.json() as { recovery_codes: string[] }).recovery_codes;
    return token;
  };
  const failures = async (name: string) => (await db.selectFrom('users').select('failed_logins').where('name', '=', name).executeTakeFirstOrThrow()).failed_logins;

  before(async () => {
    pgs = await startTestPostgres();
    db = openDb({ url: pgs.url });
    await migrateToLatest(db);
    app = await buildApp(db, audits);
    strict = await buildApp(db, audits, { mfa: { requiredRoles: ['admin', 'operator'] } });
    const users: [string, Role][] = [
      ['alice', 'admin'],
      ['olga', 'operator'],
      ['rita', 'operator'],
      ['brute', 'operator'],
      ['nora', 'operator'],
      ['vic', 'viewer'],
      ['hank', 'operator'],
    ];
    for (const [name, role] of users) {
      const r = await createUser(db, { name, role, password: PASSWORD });
      assert.ok(r.ok);
      ids[name] = r.value.id;
    }
  });
  after(async () => {
    await app?.close();
    await strict?.close();
    await db?.destroy();
    await pgs?.stop();
  });

  it('sets up a factor: secret as text and QR code, confirmed with one code, ten recovery codes stored hashed, the secret never shown again', async () => {
    const token = await sessionOf(app, 'olga');
    const st = await app.inject({ method: 'GET', url: '/api/auth/mfa', headers: bearer(token) });
    assert.deepEqual(st.json(), { enabled: false, required: false, recovery_codes_left: 0 });

    const s = await app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(token) });
    assert.equal(s.statusCode, 200, s.body);
    const setup = s.json() as { secret: string; otpauth_uri: string; qr_png: string };
    assert.match(setup.secret, /^[A-Z2-7]{32}$/, '160-bit base32 secret');
    assert.match(setup.otpauth_uri, new RegExp(`^otpauth://totp/GuruConnect:olga\\?.*secret=${setup.secret}`));
    assert.match(setup.otpauth_uri, /issuer=GuruConnect/);
    assert.match(setup.otpauth_uri, /period=30/);
    assert.ok(setup.qr_png.startsWith('data:image/png;base64,'));
    const png = Buffer.from(setup.qr_png.slice('data:image/png;base64,'.length), 'base64');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG image');
    assert.equal(s.headers['cache-control'], 'no-store');

    // Not on until confirmed: the password still gives a session.
    await sessionOf(app, 'olga');
    const bad = await app.inject({ method: 'POST', url: '/api/auth/mfa/confirm', headers: bearer(token), payload: { code: totpCode(setup.secret, clock.t + 5 * STEP) } });
    assert.equal(bad.statusCode, 401);
    assert.equal((bad.json() as Json).error_code, 'MFA_CODE_INVALID');

    const c = await app.inject({ method: 'POST', url: '/api/auth/mfa/confirm', headers: bearer(token), payload: { code: totpCode(setup.secret, clock.t) } });
    assert.equal(c.statusCode, 200, c.body);
    const codes = (c.json() as { recovery_codes: string[] }).recovery_codes;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
    secrets.olga = setup.secret;
    recovery.olga = codes;

    const rows = await db.selectFrom('mfa_recovery_codes').select(['code_hash', 'used_at']).where('user_id', '=', ids.olga!).execute();
    assert.equal(rows.length, 10);
    for (const r of rows) {
      assert.match(r.code_hash, /^[0-9a-f]{64}$/);
      assert.ok(!codes.some((code) => r.code_hash.includes(code.replace('-', ''))));
    }
    // Once set up, the secret is never handed out again: a new set-up is refused, /me and status carry none.
    const again = await app.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(token) });
    assert.equal(again.statusCode, 409);
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) });
    assert.deepEqual((me.json() as Json).mfa, { enabled: true, required: false, recovery_codes_left: 10 });
    assert.ok(!me.body.includes(setup.secret) && !again.body.includes(setup.secret));
    assert.ok(audits.some((a) => a.eventType === 'mfa_enabled' && a.actor?.name === 'olga'));
  });

  it('signs in with password then code: the challenge is no session, the code step gives one', async () => {
    const challenge = await challengeOf(app, 'olga');
    assert.match(challenge, /^gcm_/);
    const asBearer = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(challenge) });
    assert.equal(asBearer.statusCode, 401, 'a challenge is not a session token');
    assert.ok(audits.some((a) => a.eventType === 'login_mfa_challenged' && a.actor?.name === 'olga'));

    clock.t += STEP; // the set-up used the code of the previous step
    const r = await codeStep(app, challenge, totpCode(secrets.olga!, clock.t));
    assert.equal(r.statusCode, 200, r.body);
    const b = r.json() as { token: string; user: { name: string } };
    assert.equal(b.user.name, 'olga');
    assert.match(String(r.headers['set-cookie']), /^gc_session=gcs_/);
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(b.token) });
    assert.equal(me.statusCode, 200);
    const login = audits.findLast((a) => a.eventType === 'login');
    assert.equal(login?.actor?.name, 'olga');
    assert.equal(login?.details.mfa, 'totp');

    // The challenge was used up by the success.
    clock.t += STEP;
    const reuse = await codeStep(app, challenge, totpCode(secrets.olga!, clock.t));
    assert.equal(reuse.statusCode, 401);
    assert.equal((reuse.json() as Json).error_code, 'MFA_CHALLENGE_INVALID');
  });

  it('refuses a wrong code, a code outside ±1 step, and a replayed code; each counts as a failed login', async () => {
    clock.t += 10 * STEP;
    const challenge = await challengeOf(app, 'olga');
    const before = await failures('olga');
    const wrong = await codeStep(app, challenge, String((Number(totpCode(secrets.olga!, clock.t)) + 1) % 1_000_000).padStart(6, '0'));
    assert.equal(wrong.statusCode, 401);
    assert.equal((wrong.json() as Json).error_code, 'MFA_CODE_INVALID');
    const far = await codeStep(app, challenge, totpCode(secrets.olga!, clock.t - 2 * STEP));
    assert.equal(far.statusCode, 401, 'two steps back is outside the window');
    assert.equal(await failures('olga'), before + 2);

    // One step back is inside the window and accepted once.
    const prev = totpCode(secrets.olga!, clock.t - STEP);
    const ok1 = await codeStep(app, challenge, prev);
    assert.equal(ok1.statusCode, 200, ok1.body);
    assert.equal(await failures('olga'), 0, 'a complete sign-in clears the count');
    // The same code again, with a fresh challenge, inside its window: refused as replayed.
    const c2 = await challengeOf(app, 'olga');
    const replay = await codeStep(app, c2, prev);
    assert.equal(replay.statusCode, 401);
    assert.equal((replay.json() as Json).error_code, 'MFA_CODE_INVALID');
    assert.equal(audits.findLast((a) => a.eventType === 'login_failed')?.details.reason, 'code_reused');
    // The current step's code is newer than the last accepted one and works.
    const now = await codeStep(app, c2, totpCode(secrets.olga!, clock.t));
    assert.equal(now.statusCode, 200, now.body);
    // ...but only once, and a code of an earlier step (within the window) cannot come after it.
    const c3 = await challengeOf(app, 'olga');
    for (const code of [totpCode(secrets.olga!, clock.t), totpCode(secrets.olga!, clock.t - STEP)]) {
      const r = await codeStep(app, c3, code);
      assert.equal(r.statusCode, 401, `code ${code} was already used or is older than the last used one`);
    }
  });

  it('accepts each recovery code once (case and dashes do not matter)', async () => {
    const [first, second] = recovery.olga!;
    const c1 = await challengeOf(app, 'olga');
    const r1 = await codeStep(app, c1, first!);
    assert.equal(r1.statusCode, 200, r1.body);
    assert.equal(audits.findLast((a) => a.eventType === 'login')?.details.mfa, 'recovery');
    const c2 = await challengeOf(app, 'olga');
    const again = await codeStep(app, c2, first!);
    assert.equal(again.statusCode, 401);
    assert.equal((again.json() as Json).error_code, 'MFA_CODE_INVALID');
    const r2 = await codeStep(app, c2, second!.replace('-', '').toUpperCase());
    assert.equal(r2.statusCode, 200, r2.body);
    const token = (r2.json() as { token: string }).token;
    const st = await app.inject({ method: 'GET', url: '/api/auth/mfa', headers: bearer(token) });
    assert.equal((st.json() as Json).recovery_codes_left, 8);
  });

  it('wrong codes add up to the lockout across challenges (the password step does not clear the count); then even the right code is refused', async () => {
    await enroll(app, 'brute');
    clock.t += STEP;
    const wrong = (code: string) => String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');
    let last = 0;
    for (let i = 0; i < 5; i++) {
      // A fresh password step every two tries: it must not reset the count.
      const challenge = await challengeOf(app, 'brute');
      const r = await codeStep(app, challenge, wrong(totpCode(secrets.brute!, clock.t)));
      last = r.statusCode;
      if (i < 4) assert.equal(r.statusCode, 401, `try ${i + 1}`);
    }
    assert.equal(last, 423, 'the fifth wrong code locks the account');
    assert.ok(audits.some((a) => a.eventType === 'account_locked' && a.details.name === 'brute'));
    const locked = await password(app, 'brute');
    assert.equal(locked.statusCode, 423, 'the password step is refused while locked');
    // A challenge issued before the lock cannot be finished with the right code either.
    await db.updateTable('users').set({ locked_until: null }).where('name', '=', 'brute').execute();
    const ch = await challengeOf(app, 'brute');
    await db
      .updateTable('users')
      .set({ locked_until: new Date(Date.now() + 60_000) })
      .where('name', '=', 'brute')
      .execute();
    const right = await codeStep(app, ch, totpCode(secrets.brute!, clock.t));
    assert.equal(right.statusCode, 423);
    assert.equal((right.json() as Json).error_code, 'ACCOUNT_LOCKED');
  });

  it('refuses an expired challenge, an unknown one and hostile input', async () => {
    await enroll(app, 'nora');
    const ch = await challengeOf(app, 'nora');
    clock.t += 6 * 60_000; // challenges live 5 minutes
    const late = await codeStep(app, ch, totpCode(secrets.nora!, clock.t));
    assert.equal(late.statusCode, 401);
    assert.equal((late.json() as Json).error_code, 'MFA_CHALLENGE_INVALID');
    const fresh = await challengeOf(app, 'nora');
    for (const challenge of ['gcm_nope', 'gcs_x', `gcm_${'a'.repeat(190)}`]) {
      const r = await codeStep(app, challenge, '123456');
      assert.equal(r.statusCode, 401, challenge.slice(0, 20));
      assert.equal((r.json() as Json).error_code, 'MFA_CHALLENGE_INVALID');
    }
    const huge = await codeStep(app, 'x'.repeat(100_000), '123456');
    assert.equal(huge.statusCode, 400);
    for (const code of ['0', '-1', '2147483647', '4294967295', '9223372036854775807', '12345\u0000', '00000\ud800', ' ', '1e5']) {
      const r = await codeStep(app, fresh, code);
      assert.ok([400, 401].includes(r.statusCode), `code ${JSON.stringify(code)} → ${r.statusCode}`);
      if (r.statusCode === 401) assert.equal((r.json() as Json).error_code, 'MFA_CODE_INVALID');
      await db.updateTable('users').set({ failed_logins: 0 }).where('name', '=', 'nora').execute();
    }
    const right = await codeStep(app, fresh, totpCode(secrets.nora!, clock.t));
    assert.equal(right.statusCode, 200, 'the challenge still works after refused input');
    // Another user's challenge does not sign in as this user: the challenge names its user.
    const other = await challengeOf(app, 'olga');
    clock.t += STEP;
    const cross = await codeStep(app, other, totpCode(secrets.nora!, clock.t));
    assert.equal(cross.statusCode, 401, "nora's code does not complete olga's challenge");
  });

  it('GC_MFA_REQUIRED: an operator without a factor reaches set-up and nothing else (HTTP and WebSocket); a viewer and API tokens are not affected', async () => {
    const token = await sessionOf(strict, 'rita');
    const me = await strict.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) });
    assert.equal(me.statusCode, 200);
    assert.deepEqual((me.json() as Json).mfa, { enabled: false, required: true, recovery_codes_left: 0 });
    const blocked = await strict.inject({ method: 'POST', url: '/api/machines/m1/backstage', headers: bearer(token) });
    assert.equal(blocked.statusCode, 403);
    assert.equal((blocked.json() as Json).error_code, 'MFA_SETUP_REQUIRED');
    const ws = await strict.inject({
      method: 'GET',
      url: '/ws/probe',
      headers: { ...bearer(token), connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    assert.equal(ws.statusCode, 403);
    assert.equal((ws.json() as Json).error_code, 'MFA_SETUP_REQUIRED');
    // An API token of the same user is a script's credential: not held to the requirement.
    const apiToken = await createApiToken(db, { name: 'ci', userName: 'rita' });
    assert.ok(apiToken.ok);
    const script = await strict.inject({ method: 'POST', url: '/api/machines/m1/backstage', headers: bearer(apiToken.value.token) });
    assert.equal(script.statusCode, 200, script.body);
    // The same route without the requirement answers for the viewer's role only.
    const viewer = await sessionOf(strict, 'vic');
    const v = await strict.inject({ method: 'POST', url: '/api/machines/m1/backstage', headers: bearer(viewer) });
    assert.equal((v.json() as Json).error_code, 'FORBIDDEN');

    const s = await strict.inject({ method: 'POST', url: '/api/auth/mfa/setup', headers: bearer(token) });
    assert.equal(s.statusCode, 200, s.body);
    const secret = String((s.json() as Json).secret);
    const c = await strict.inject({ method: 'POST', url: '/api/auth/mfa/confirm', headers: bearer(token), payload: { code: totpCode(secret, clock.t) } });
    assert.equal(c.statusCode, 200, c.body);
    const allowed = await strict.inject({ method: 'POST', url: '/api/machines/m1/backstage', headers: bearer(token) });
    assert.equal(allowed.statusCode, 200, 'after set-up the same session goes on');
    // From now on the password alone is not enough.
    await challengeOf(strict, 'rita');
  });

  it('an admin resets a factor (audited): the user signs in with the password again; others may not reset', async () => {
    await enroll(app, 'hank');
    clock.t += STEP;
    const adminToken = await sessionOf(app, 'alice');
    const notAdmin = await sessionOf(app, 'vic');
    const denied = await app.inject({ method: 'POST', url: `/api/users/${ids.hank}/mfa/reset`, headers: bearer(notAdmin) });
    assert.equal(denied.statusCode, 403);
    await challengeOf(app, 'hank');

    const r = await app.inject({ method: 'POST', url: `/api/users/${ids.hank}/mfa/reset`, headers: bearer(adminToken) });
    assert.equal(r.statusCode, 200, r.body);
    const audit = audits.findLast((a) => a.eventType === 'mfa_reset');
    assert.equal(audit?.actor?.name, 'alice');
    assert.equal(audit?.details.user_id, ids.hank);
    assert.equal((await db.selectFrom('mfa_recovery_codes').select('id').where('user_id', '=', ids.hank!).execute()).length, 0);
    await sessionOf(app, 'hank');
    const none = await app.inject({ method: 'POST', url: `/api/users/${ids.hank}/mfa/reset`, headers: bearer(adminToken) });
    assert.equal(none.statusCode, 404);
    const badId = await app.inject({ method: 'POST', url: '/api/users/not-a-uuid/mfa/reset', headers: bearer(adminToken) });
    assert.equal(badId.statusCode, 400);
  });
});
