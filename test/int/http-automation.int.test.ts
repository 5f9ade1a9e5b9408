/**
 * HTTP automation against the whole stack (launcher: nats-server, PostgreSQL, projections, gateway,
 * local agent): a service account's API token runs backstage over plain HTTP, the process list
 * samples CPU when asked with ?cpu_sample_ms=, and the audit log names the token's user and the token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { main as authCli } from '../../services/auth/cli.js';
import { type Api, eventually, login } from '../support/api.js';

type Proc = { pid: number; name: string; cpuPercent?: number };
type Envelope = { error_code: string; message: string; correlation_id: string };
type AuditEvent = { event_type: string; user_name: string | null; details: Record<string, unknown> };

describe('HTTP automation with an API token (whole stack)', { timeout: 180_000 }, () => {
  let stack: Stack;
  let dir: string;
  let admin: Api;
  let token: string;
  let tokenId: string;
  const agentId = 'automation-test-agent';

  const call = async <T>(path: string, init: RequestInit = {}) => {
    const r = await fetch(`${stack.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
    return { status: r.status, body: (await r.json()) as T };
  };
  const processes = (query = '') => call<{ command_id: string; result: { processes?: Proc[] } } & Partial<Envelope>>(`/api/machines/${agentId}/backstage/processes${query}`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-automation-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs: 1000, fastPostgres: true });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    const out: string[] = [];
    const io = {
      env: { DATABASE_URL: stack.databaseUrl, NATS_URL: stack.natsUrl, NATS_CA: stack.natsCa, NATS_CREDS: await stack.credsFor('launcher') },
      out: (l: string) => out.push(l),
      err: (l: string) => out.push(l),
    };
    assert.equal(await authCli(['users', 'create', '--name', 'ci-bot', '--role', 'admin', '--service'], io), 0, out.join('\n'));
    const created = await admin.post<{ id: string; token: string }>('/api/tokens', { name: 'nightly', user: 'ci-bot', expires_in_days: 7 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ({ id: tokenId, token } = created.body);
    await eventually(
      async () => {
        const r = await call<{ machines: { agent_id: string; online: boolean }[] }>('/api/machines');
        return r.body.machines?.some((m) => m.agent_id === agentId && m.online) ? true : undefined;
      },
      'the local agent online',
      60_000,
      500,
    );
  });
  after(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a backstage command with the token alone', async () => {
    const r = await call<{ stdout: string; exit_code: number }>(`/api/machines/${agentId}/backstage/exec`, { method: 'POST', body: JSON.stringify({ command: 'echo from-a-token', shell: 'sh' }) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.stdout.trim(), 'from-a-token');
    assert.equal(r.body.exit_code, 0);
  });

  it('samples CPU for the process list only when asked with cpu_sample_ms', async () => {
    const plain = await processes();
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    const before = plain.body.result.processes ?? [];
    assert.ok(before.length > 0);
    assert.ok(
      before.every((p) => p.cpuPercent === -1),
      'no sample: every cpuPercent is -1',
    );

    const sampled = await processes('?cpu_sample_ms=500');
    assert.equal(sampled.status, 200, JSON.stringify(sampled.body));
    // protobuf's JSON form leaves out zero values: an idle process has no cpuPercent, meaning 0.
    const cpu = (p: Proc) => p.cpuPercent ?? 0;
    const procs = sampled.body.result.processes ?? [];
    assert.ok(procs.length > 0);
    assert.ok(
      procs.some((p) => cpu(p) >= 0),
      'some process has a sampled cpuPercent',
    );
    assert.ok(
      procs.every((p) => cpu(p) >= 0 && cpu(p) <= 100),
      JSON.stringify(procs.filter((p) => !(cpu(p) >= 0 && cpu(p) <= 100)).slice(0, 3)),
    );

    const zero = await processes('?cpu_sample_ms=0');
    assert.equal(zero.status, 200);
    assert.ok(
      (zero.body.result.processes ?? []).every((p) => p.cpuPercent === -1),
      '0 means no sample',
    );
  });

  it('refuses a cpu_sample_ms out of 0..5000 or not an integer with a 400 envelope', async () => {
    for (const v of ['-1', '5001', String(2 ** 31 - 1), String(2 ** 53), '1.5', 'abc', '1e3x', '%00']) {
      const r = await processes(`?cpu_sample_ms=${v}`);
      assert.equal(r.status, 400, `${v} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error_code, 'VALIDATION_FAILED');
      assert.ok(r.body.correlation_id);
    }
  });

  it('audits the use: the actor is the service account, the details name the token', async () => {
    const used = await eventually(async () => {
      const r = await admin.get<{ events: AuditEvent[] }>('/api/audit?type=api_token_used&user=ci-bot');
      return r.body.events.find((e) => e.details.api_token_id === tokenId);
    }, 'the api_token_used audit event');
    assert.equal(used.user_name, 'ci-bot');
    assert.equal(used.details.api_token_name, 'nightly');
    const created = await eventually(async () => {
      const r = await admin.get<{ events: AuditEvent[] }>('/api/audit?type=api_token_created');
      return r.body.events.find((e) => e.details.token_id === tokenId);
    }, 'the api_token_created audit event');
    assert.equal(created.user_name, stack.admin.name);
    // The backstage command itself is stored with the service account as its actor.
    const cmd = await eventually(async () => {
      const r = await admin.get<{ events: AuditEvent[] }>('/api/audit?user=ci-bot&type=backstage_command');
      return r.body.events[0];
    }, 'the backstage command audited as ci-bot');
    assert.equal(cmd.user_name, 'ci-bot');
  });

  it('documents the token routes and cpu_sample_ms in the OpenAPI document', async () => {
    const r = await fetch(`${stack.url}/api/docs/json`);
    assert.equal(r.status, 200);
    const doc = (await r.json()) as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
    assert.ok(doc.paths['/api/tokens']?.post && doc.paths['/api/tokens']?.get && doc.paths['/api/tokens/{id}']?.delete, Object.keys(doc.paths).join(' '));
    const params = doc.paths['/api/machines/{agentId}/backstage/processes']?.get?.parameters ?? [];
    assert.ok(
      params.some((p) => p.name === 'cpu_sample_ms' && p.in === 'query'),
      JSON.stringify(params),
    );
  });

  it('answers 401 TOKEN_REVOKED once an admin revokes the token', async () => {
    const rv = await fetch(`${stack.url}/api/tokens/${tokenId}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.token}` } });
    assert.equal(rv.status, 200);
    const r = await processes();
    assert.equal(r.status, 401);
    assert.equal(r.body.error_code, 'TOKEN_REVOKED');
  });
});
