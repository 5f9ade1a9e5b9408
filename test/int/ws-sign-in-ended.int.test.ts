/**
 * A socket outlives the request that authenticated it: the viewer and live sockets must stop acting
 * for a sign-in that ended after the upgrade (ws/sign-in-watch.ts). Before, an admin who logged out,
 * or whose stolen token an admin revoked, kept entering backstage (a SYSTEM shell) and watching the
 * screen through a socket opened earlier, for as long as it stayed open. Real gateway, NATS, Postgres.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestGateway, TEST_PASSWORD, startTestGateway } from '../support/gateway.js';
import { type ViewerSocket, openViewerSocket } from '../support/viewer-ws.js';

const AGENT = 'sign-in-pc';
type Msg = { t: string; [k: string]: unknown };

const wsModule = 'ws';
const { default: WebSocket } = (await import(wsModule)) as {
  default: new (url: string, opts: { headers: Record<string, string> }) => { once(ev: string, fn: (x?: unknown) => void): void; close(): void };
};

describe('sockets end with the sign-in they were opened with', { timeout: 120_000 }, () => {
  let t: TestGateway;
  let adminToken: string;
  const open: ViewerSocket[] = [];

  before(async () => {
    t = await startTestGateway();
    adminToken = await t.userToken('ada', 'admin');
  });
  after(async () => {
    for (const s of open) s.close();
    await t?.stop();
  });

  const login = async (name: string) => {
    const r = await fetch(`${t.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: TEST_PASSWORD }) });
    assert.equal(r.status, 200);
    return ((await r.json()) as { token: string }).token;
  };
  const viewer = async (token: string) => {
    const got: Msg[] = [];
    const s = await openViewerSocket(t.url, AGENT, token, (m) => got.push(m));
    open.push(s);
    // The hello first: the socket is set up before anything is revoked.
    for (let i = 0; i < 1000 && !got.some((m) => m.t === 'hello'); i++) await new Promise((r) => setTimeout(r, 10));
    return { s, got };
  };
  /** Waits (a liveness bound, not a timing assertion) for a message of kind `t`. */
  const reach = async (got: Msg[], t: string) => {
    for (let i = 0; i < 1000 && !got.some((m) => m.t === t); i++) await new Promise((r) => setTimeout(r, 10));
    return got.find((m) => m.t === t);
  };

  it("after logout the socket does nothing more: the next message is refused UNAUTHENTICATED and the socket closes 4401; the same user's other session is untouched", async () => {
    const other = await viewer(await login('ada'));
    const myToken = await login('ada');
    const mine = await viewer(myToken);
    const out = await fetch(`${t.url}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${myToken}` } });
    assert.equal(out.status, 200);
    mine.got.length = 0;
    mine.s.send('{"t":"backstage.enter"}');
    mine.s.send('{"t":"sessions"}');
    assert.equal(await mine.s.closed, 4401);
    assert.deepEqual(
      mine.got.map((m) => [m.t, m.error_code]),
      [['error', 'UNAUTHENTICATED']],
    );
    other.s.send('{"t":"backstage.enter"}');
    assert.ok(await reach(other.got, 'backstage.entered'), JSON.stringify(other.got));
  });

  it('an API token an admin revokes ends its socket even when the socket is quiet', async () => {
    const created = await fetch(`${t.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'stolen', user: 'ada' }),
    });
    assert.equal(created.status, 201);
    const { id, token } = (await created.json()) as { id: string; token: string };
    const v = await viewer(token);
    const revoked = await fetch(`${t.url}/api/tokens/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(revoked.status, 200);
    // Nothing is sent: the periodic re-check ends it (the test's timeout bounds the wait).
    assert.equal(await v.s.closed, 4401);
    assert.equal(v.got.at(-1)?.error_code, 'UNAUTHENTICATED');
  });

  it('a changed role ends the socket: a demoted admin keeps no backstage', async () => {
    await t.userToken('bea', 'admin');
    const v = await viewer(await login('bea'));
    await t.backbone.db.updateTable('users').set({ role: 'viewer' }).where('name', '=', 'bea').execute();
    v.got.length = 0;
    v.s.send('{"t":"backstage.enter"}');
    assert.equal(await v.s.closed, 4401);
    assert.ok(!v.got.some((m) => m.t === 'backstage.entered'), JSON.stringify(v.got));
  });

  it("a machine grant withdrawn mid-session ends that viewer's socket (no more frames or input)", async () => {
    await t.userToken('otto', 'operator');
    const otto = await t.backbone.db.selectFrom('users').select('id').where('name', '=', 'otto').executeTakeFirstOrThrow();
    const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const granted = await fetch(`${t.url}/api/users/${otto.id}/grants`, { method: 'POST', headers: admin, body: JSON.stringify({ agent_id: AGENT }) });
    assert.ok(granted.ok, await granted.text());
    const v = await viewer(await login('otto'));
    const withdrawn = await fetch(`${t.url}/api/users/${otto.id}/grants/${AGENT}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(withdrawn.status, 200);
    v.got.length = 0;
    v.s.send('{"t":"sessions"}');
    assert.equal(await v.s.closed, 4401);
    assert.deepEqual(
      v.got.map((m) => [m.t, m.error_code]),
      [['error', 'UNAUTHENTICATED']],
    );
  });

  it('the live channel closes 4401 once its token is logged out', async () => {
    const token = await login('ada');
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/ws/live`, { headers: { authorization: `Bearer ${token}` } });
    const closed = new Promise<unknown>((resolve) => ws.once('close', resolve));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const out = await fetch(`${t.url}/api/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(out.status, 200);
    assert.equal(await closed, 4401);
  });
});
