/**
 * GET /api/machines paged and filtered on the server (issue 18 goal 4): keyset pages that together
 * hold every machine once in the list's order, filters applied on the server (text, status, a
 * viewer's grants), the header's counts, and hostile query values refused with the 400 envelope.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { findUserByName, grantMachine } from '../../services/auth/users.js';
import { MACHINES_PAGE_DEFAULT } from '../../services/gateway/routes/machines-query.js';
import type { MachinesPageDto } from '../../services/gateway/api-schemas.js';
import { type TestGateway, startTestGateway } from '../support/gateway.js';

const N = 1234;
// Every 7th machine stopped beating long ago; every 50th shares its host name with the next (ties sort by agent id).
const offline = (i: number) => i % 7 === 0;
const hostOf = (i: number) => (i % 50 === 1 ? `host-${String(i - 1).padStart(4, '0')}` : `host-${String(i).padStart(4, '0')}`);
const usersOf = (i: number) => (i % 3 === 0 ? [`user${i}`, `ops${i % 10}`] : i === 5 ? ['ab', 'cd'] : []);

describe('machines list: server-side paging and filtering', { timeout: 180_000 }, () => {
  let t: TestGateway;
  let admin: string;
  let vera: string;

  before(async () => {
    t = await startTestGateway();
    const now = Date.now();
    const rows = Array.from({ length: N }, (_, i) => ({
      agent_id: `m-${String(i).padStart(4, '0')}`,
      hostname: i === 7 ? 'odd%name_x' : hostOf(i),
      os_version: i % 2 ? 'Windows 11' : 'Ubuntu 24.04',
      platform: i % 2 ? 'windows' : 'linux',
      agent_version: '1',
      elevated: true,
      current_session_id: 1,
      session_count: usersOf(i).length,
      users: usersOf(i),
      heartbeat_interval_ms: 30_000,
      state: 'online',
      first_seen: new Date(now - 86_400_000),
      last_seen: new Date(offline(i) ? now - 3_600_000 : now + 600_000),
      last_seq: String(i + 1),
    }));
    for (let i = 0; i < rows.length; i += 500)
      await t.backbone.db
        .insertInto('machines')
        .values(rows.slice(i, i + 500))
        .execute();
    admin = await t.userToken('adele', 'admin');
    vera = await t.userToken('vera', 'viewer');
    const v = await findUserByName(t.backbone.db, 'vera');
    for (const id of ['m-0003', 'm-0700', 'm-1233']) assert.ok((await grantMachine(t.backbone.db, v!.id, id)).ok);
  });
  after(async () => {
    await t?.stop();
  });

  const get = async (query: string, token = admin) => {
    const res = await fetch(`${t.url}/api/machines${query}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as MachinesPageDto & { error_code?: string; message?: string; correlation_id?: string } };
  };
  /** Follows next_cursor to the end; returns the agent ids in the order served. */
  const all = async (params: Record<string, string>, token = admin) => {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs = new URLSearchParams({ ...params, ...(cursor ? { cursor } : {}) });
      const r = await get(`?${qs}`, token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      ids.push(...r.body.machines.map((m) => m.agent_id));
      cursor = r.body.next_cursor;
      pages++;
      assert.ok(pages <= N + 1, 'paging ends');
    } while (cursor);
    return { ids, pages };
  };
  /** The database's own order of the list (hostname, agent id), for the rows `where` keeps. */
  const dbOrder = async (where: (i: number, host: string) => boolean) => {
    const r = await sql<{ agent_id: string; hostname: string }>`select agent_id, hostname from machines order by hostname, agent_id`.execute(t.backbone.db);
    return r.rows.filter((x) => where(Number(x.agent_id.slice(2)), x.hostname)).map((x) => x.agent_id);
  };

  it('pages through every machine exactly once, in host name order, ties by agent id', async () => {
    const { ids, pages } = await all({ limit: '100' });
    assert.equal(pages, Math.ceil(N / 100));
    assert.equal(new Set(ids).size, N);
    assert.deepEqual(ids, await dbOrder(() => true));
    const small = await all({ limit: '1' });
    assert.deepEqual(small.ids, ids, 'a page of one row continues past host-name ties');
  });

  it('answers a bare GET with the first page and the counts (callers that never page still work)', async () => {
    const r = await get('');
    assert.equal(r.status, 200);
    assert.equal(r.body.machines.length, MACHINES_PAGE_DEFAULT);
    assert.ok(r.body.next_cursor);
    const offlineCount = Array.from({ length: N }, (_, i) => i).filter(offline).length;
    assert.deepEqual([r.body.total, r.body.online, r.body.matching], [N, N - offlineCount, N]);
    assert.equal(r.body.machines.find((m) => m.agent_id === 'm-0000')?.online, false);
    assert.equal(r.body.machines.find((m) => m.agent_id === 'm-0001')?.online, true);
  });

  it('filters by text on the server: host, agent id, OS and users, case-insensitively', async () => {
    for (const [q, keep] of [
      ['HOST-00', (_: number, h: string) => h.toLowerCase().includes('host-00')],
      ['m-12', (i: number) => `m-${String(i).padStart(4, '0')}`.includes('m-12')],
      ['ubuntu', (i: number) => i % 2 === 0],
      ['OPS7', (i: number) => usersOf(i).some((u) => u.includes('ops7'))],
    ] as const) {
      const { ids } = await all({ q, limit: '37' });
      assert.deepEqual(ids, await dbOrder(keep), q);
      assert.ok(ids.length > 0, `${q} matches something`);
      const first = await get(`?${new URLSearchParams({ q, limit: '37' })}`);
      assert.equal(first.body.matching, ids.length);
      assert.equal(first.body.total, N);
    }
  });

  it("counts a filter's matches up to 1,000 and says when there are more", async () => {
    const broad = await get('?q=host&limit=5');
    assert.deepEqual([broad.body.matching, broad.body.matching_capped, broad.body.machines.length], [1000, true, 5]);
    assert.equal((await all({ q: 'host', limit: '500' })).ids.length, N - 1, 'every match is still listed, page by page');
    const narrow = await get('?q=host-01');
    assert.equal(narrow.body.matching_capped, false);
    const none = await get('?status=offline');
    assert.deepEqual([none.body.matching_capped, none.body.matching], [false, Array.from({ length: N }, (_, i) => i).filter(offline).length]);
  });

  it('takes % and _ in the filter literally and never matches across two users', async () => {
    assert.deepEqual((await all({ q: '%' })).ids, ['m-0007']);
    assert.deepEqual((await all({ q: 'd%n' })).ids, ['m-0007']);
    assert.deepEqual((await all({ q: 'e_x' })).ids, ['m-0007']);
    assert.deepEqual((await all({ q: '\\' })).ids, []);
    assert.deepEqual((await all({ q: 'bc' })).ids, [], "'ab' and 'cd' are two users, not 'abcd'");
    assert.deepEqual((await all({ q: 'cd' })).ids, ['m-0005']);
  });

  it('filters by status on the server, combined with text', async () => {
    assert.deepEqual((await all({ status: 'offline', limit: '50' })).ids, await dbOrder((i) => offline(i)));
    assert.deepEqual((await all({ status: 'online', q: 'host-01', limit: '50' })).ids, await dbOrder((i, h) => !offline(i) && h.includes('host-01')));
    const r = await get('?status=offline&q=host-02');
    assert.equal(r.body.matching, (await dbOrder((i, h) => offline(i) && h.includes('host-02'))).length);
  });

  it("lists and counts only a viewer's granted machines", async () => {
    const { ids } = await all({ limit: '2' }, vera);
    assert.deepEqual(ids, ['m-0003', 'm-0700', 'm-1233']);
    const r = await get('?q=m-07', vera);
    assert.deepEqual(
      r.body.machines.map((m) => m.agent_id),
      ['m-0700'],
    );
    assert.deepEqual([r.body.total, r.body.matching], [3, 1]);
  });

  it('refuses hostile query values with the 400 envelope', async () => {
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const qs of [
      'limit=0',
      'limit=-1',
      'limit=501',
      'limit=2147483647',
      'limit=4294967295',
      'limit=9223372036854775807',
      'limit=1.5',
      'limit=1e2',
      'limit=0x10',
      'limit=',
      'limit=%205',
      'limit=abc',
      'limit=1&limit=2',
      'status=lost',
      'status=ONLINE',
      `q=${'x'.repeat(201)}`,
      `q=${encodeURIComponent('a\u0000b')}`,
      `q=${encodeURIComponent('a\u0007b')}`,
      'cursor=not*base64',
      `cursor=${'A'.repeat(20)}`,
      `cursor=${cursor(['host', 'bad.id'])}`,
      `cursor=${cursor(['host'])}`,
      `cursor=${cursor([1, 2])}`,
      `cursor=${cursor(['a\u0000', 'm-1'])}`,
      `cursor=${cursor({ hostname: 'a', agentId: 'b' })}`,
    ]) {
      const r = await get(`?${qs}`);
      assert.equal(r.status, 400, `${qs}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error_code, 'VALIDATION_FAILED', qs);
      assert.ok(r.body.message && r.body.correlation_id, qs);
    }
    // A lone surrogate cannot travel in a URL: its CESU-8 bytes are not UTF-8, so the query parser
    // keeps the escapes as literal text, which matches nothing (the schema refuses a real one: unit test).
    for (const qs of ['q=x%ED%A0%80', 'q=%E0%A4%A']) {
      const r = await get(`?${qs}`);
      assert.equal(r.status, 200, qs);
      assert.equal(r.body.matching, 0, qs);
    }
    // A 100,000-character filter: the HTTP parser stops it before any route (16 KB request head),
    // still as the envelope; in-process (no socket limit) the route's own schema refuses it.
    const huge = await get(`?q=${'y'.repeat(100_000)}`);
    assert.equal(huge.status, 431);
    assert.equal(huge.body.error_code, 'PAYLOAD_TOO_LARGE');
    const injected = await t.gw.app.inject({ method: 'GET', url: `/api/machines?q=${'y'.repeat(100_000)}`, headers: { authorization: `Bearer ${admin}` } });
    assert.equal(injected.statusCode, 400);
    assert.equal(injected.json().error_code, 'VALIDATION_FAILED');
    // Cursors this server could have made from an agent's host name (any text but NUL): a lone
    // surrogate, control characters, 12,000 characters. Each is a place in the order, never a 500
    // (m-0100 and m-0101 share host-0100: each of the first three falls after both).
    for (const [hostname, firstAfter] of [
      ['host-0100\ud800', 'm-0102'],
      ['host-0100\u0001\u007f', 'm-0102'],
      [`host-0100${'z'.repeat(12_000)}`, 'm-0102'],
      ['\uffff', undefined],
      ['', 'm-0000'],
    ] as const) {
      const r = await get(`?limit=1&cursor=${cursor([hostname, 'm-0000'])}`);
      assert.equal(r.status, 200, `${JSON.stringify(hostname.slice(0, 20))}: ${JSON.stringify(r.body).slice(0, 200)}`);
      assert.equal(r.body.machines[0]?.agent_id, firstAfter, JSON.stringify(hostname.slice(0, 20)));
    }
    // After all that the list still answers.
    assert.equal((await get('?limit=500')).body.machines.length, 500);
  });

  it('documents the query in the OpenAPI document', async () => {
    const r = await t.gw.app.inject({ method: 'GET', url: '/api/docs/json' });
    assert.equal(r.statusCode, 200);
    const op = r.json().paths['/api/machines'].get as { parameters: { name: string; in: string }[] };
    assert.deepEqual(
      op.parameters
        .filter((p) => p.in === 'query')
        .map((p) => p.name)
        .sort(),
      ['cursor', 'limit', 'q', 'status'],
    );
  });
});
