/**
 * Who may list machines (issue 13): auditors list every machine (agent id to host name, to read the
 * audit log) but reach none of them; viewers list only their granted machines.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestGateway, startTestGateway } from '../support/gateway.js';

type Machine = { agent_id: string; hostname: string };

describe('machines API by role', { timeout: 120_000 }, () => {
  let t: TestGateway;
  const tokens: Record<string, string> = {};

  before(async () => {
    t = await startTestGateway();
    const now = new Date();
    const row = {
      os_version: '',
      platform: 'linux',
      agent_version: '0',
      elevated: false,
      current_session_id: 0,
      session_count: 0,
      users: [],
      heartbeat_interval_ms: 1000,
      state: 'online',
      first_seen: now,
      last_seen: now,
    };
    // Read-model rows as the machines projection writes them.
    await t.backbone.db
      .insertInto('machines')
      .values([
        { ...row, agent_id: 'm-alpha', hostname: 'alpha.example', last_seq: '1' },
        { ...row, agent_id: 'm-beta', hostname: 'beta.example', last_seq: '2' },
      ])
      .execute();
    for (const [name, role] of [
      ['audrey', 'auditor'],
      ['vera', 'viewer'],
    ] as const)
      tokens[name] = await t.userToken(name, role);
  });
  after(async () => {
    await t?.stop();
  });

  const call = async (who: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('lets an auditor list every machine with its host name', async () => {
    const r = await call('audrey', 'GET', '/api/machines');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const machines = r.body.machines as Machine[];
    assert.deepEqual(
      machines.map((m) => [m.agent_id, m.hostname]),
      [
        ['m-alpha', 'alpha.example'],
        ['m-beta', 'beta.example'],
      ],
    );
  });

  it('gives an auditor no machine page, no sessions and no control', async () => {
    const one = await call('audrey', 'GET', '/api/machines/m-alpha');
    assert.equal(one.status, 403);
    assert.equal(one.body.error_code, 'FORBIDDEN');
    const sessions = await call('audrey', 'GET', '/api/machines/m-alpha/windows-sessions');
    assert.equal(sessions.status, 403);
    assert.equal(sessions.body.error_code, 'FORBIDDEN');
    const sw = await call('audrey', 'POST', '/api/machines/m-alpha/switch-session', { session_id: 1 });
    assert.equal(sw.status, 403);
    assert.equal(sw.body.error_code, 'FORBIDDEN');
  });

  it('still lists only granted machines for a viewer', async () => {
    const r = await call('vera', 'GET', '/api/machines');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.machines, []);
  });
});
