/**
 * The whole system on this machine (issue 2 end to end): real Xvfb displays owned by two users, the
 * launcher's stack (nats-server, PostgreSQL, projections, gateway, agent), and the HTTP API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectBus } from '../../proto/bus/connect.js';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { decode } from '../../proto/codec.js';
import { subjects } from '../../proto/subjects.js';
import type { AgentId } from '../../proto/ids.js';
import { type Api, eventually, login } from '../support/api.js';
import { openViewerSocket } from '../support/viewer-ws.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';

type Machine = { agent_id: string; online: boolean; session_count: number; users: string[]; hostname: string };
type Session = { id: number; user: string; state: string; type: string; station: string; capturable: boolean };

describe('stack: machines and their sessions end to end', { timeout: 180_000 }, () => {
  let displays: Awaited<ReturnType<typeof startUserDisplays>>;
  let stack: Stack;
  let dir: string;
  let admin: Api;
  const agentId = 'stack-test-agent';

  before(async () => {
    displays = await startUserDisplays(['gc-alice', 'gc-bob'], { colors: ['#ff0000', '#0000ff'] });
    dir = mkdtempSync(join(tmpdir(), 'gc-stack-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs: 1000, fastPostgres: true });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    // Every case may run alone: each needs the agent's report of both displays in the read model
    // (a switch or a watch checks its target there).
    await eventually(
      async () => {
        const r = await admin.get<{ sessions: Session[] }>(`/api/machines/${agentId}/windows-sessions`);
        return r.status === 200 && displays.displays.every((d) => r.body.sessions?.some((x) => x.station === d.name)) ? true : undefined;
      },
      'both displays in the read model',
      30_000,
    );
  });
  after(async () => {
    await stack?.stop();
    await displays?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the machine with its two X sessions and their users', async () => {
    const machine = await eventually(async () => {
      const r = await admin.get<{ machines: Machine[] }>('/api/machines');
      const m = r.body.machines.find((x) => x.agent_id === agentId);
      return m?.users.includes('gc-alice') && m.users.includes('gc-bob') ? m : undefined;
    }, 'the machine with both users');
    assert.equal(machine.online, true);
    assert.ok(machine.session_count >= 2);

    const r = await admin.get<{ sessions: Session[] }>(`/api/machines/${agentId}/windows-sessions`);
    assert.equal(r.status, 200);
    for (const d of displays.displays) {
      const s = r.body.sessions.find((x) => x.station === d.name);
      assert.ok(s, `session for display ${d.name}`);
      assert.equal(s.user, d.user);
      assert.equal(s.id, d.display + 1);
      assert.equal(s.state, 'Active');
      assert.equal(s.type, 'Console');
      assert.equal(s.capturable, true);
    }
  });

  it('answers a bad agent id with a 400 envelope and no token with 401', async () => {
    const bad = await admin.get<{ error_code: string; message: string; correlation_id: string }>('/api/machines/a.b*/windows-sessions');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error_code, 'VALIDATION_FAILED');
    assert.match(bad.body.message, /agent id/);
    assert.ok(bad.body.correlation_id.length > 0);
    const anon = await fetch(`${stack.url}/api/machines`);
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as { error_code: string }).error_code, 'UNAUTHENTICATED');
    const unknown = await admin.get<{ error_code: string }>('/api/machines/no-such-machine/windows-sessions');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error_code, 'MACHINE_NOT_FOUND');
  });

  it('serves the OpenAPI document and the health check', async () => {
    const health = await fetch(`${stack.url}/api/health`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { status: string; nats: boolean; database: boolean; read_side: { projections: Array<{ name: string }> } | null };
    assert.deepEqual([body.status, body.nats, body.database], ['ok', true, true]);
    // Every projection that has run, by name (the gateway reads them from the checkpoints, not from projections/).
    assert.deepEqual(
      body.read_side?.projections.map((p) => p.name),
      ['audit', 'connect_sessions', 'machines', 'windows_sessions'],
    );
    const doc = (await (await fetch(`${stack.url}/api/docs/json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(doc.paths['/api/machines/{agentId}/windows-sessions']);
  });

  it('runs NATS over TLS only, with its private CA in the data directory (every service above reached it)', async () => {
    assert.match(stack.natsUrl, /^tls:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(stack.natsCa, join(dir, 'tls', 'ca.pem'));
    assert.equal(statSync(join(dir, 'tls', 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'tls', 'nats-server.key')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, 'nats', 'nats.conf'), 'utf8'), /^tls \{ cert_file: .*nats-server\.pem.*ca_file: .*ca\.pem/m);
    const written = JSON.parse(readFileSync(join(dir, 'stack.json'), 'utf8')) as { natsUrl: string; natsCa: string };
    assert.deepEqual([written.natsUrl, written.natsCa], [stack.natsUrl, stack.natsCa]);
    // Without the CA the server's certificate is not trusted: no service could have connected in clear or unverified.
    await assert.rejects(connectBus({ servers: stack.natsUrl, name: 'no-ca', credsFile: await stack.credsFor('launcher'), once: true }), /certificate/i);
  });

  it('switches the captured session and refuses an unknown one', async () => {
    const target = displays.displays[1]!.display + 1;
    const ok = await admin.post<{ ok: boolean; to_session_id: number }>(`/api/machines/${agentId}/switch-session`, { session_id: target });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.to_session_id, target);
    const missing = await admin.post<{ error_code: string }>(`/api/machines/${agentId}/switch-session`, { session_id: 4242 });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error_code, 'SESSION_NOT_FOUND');
  });

  it('slows a viewer that falls behind: the gateway asks the agent for half the rate and lower quality', async () => {
    const nc = await connectBus({ servers: stack.natsUrl, name: 'pace-watch', credsFile: await stack.credsFor('launcher'), caFile: stack.natsCa });
    const asked: { fps: number; quality: number }[] = [];
    const sub = nc.subscribe(subjects.command(agentId as AgentId, 'stream'), {
      callback: (_e, m) => {
        const r = decode(m.data, m.subject);
        const s = r.ok ? r.value.startStream : undefined;
        if (s) asked.push({ fps: s.maxFps ?? 0, quality: s.quality ?? 0 });
      },
    });
    await nc.flush();
    const seen: string[] = [];
    const ws = await openViewerSocket(stack.url, agentId, admin.token, (m) => seen.push(m.t));
    try {
      ws.send(JSON.stringify({ t: 'watch' }));
      await eventually(async () => (asked.length ? true : undefined), 'the first StartStream');
      assert.deepEqual(asked[0], { fps: 30, quality: 70 }, 'a new viewer starts at full pace');
      // What the browser says when it dropped frames it could not paint in time.
      ws.send(JSON.stringify({ t: 'keyframe', behind: true }));
      const slowed = await eventually(async () => asked.find((a) => a.fps < 30), 'a slower StartStream');
      assert.deepEqual(slowed, { fps: 15, quality: 55 });
      assert.ok(seen.includes('watching'), JSON.stringify(seen));
    } finally {
      ws.close();
      sub.unsubscribe();
      await nc.close();
    }
  });

  it('runs a backstage command as admin and audits it; refuses an operator', async () => {
    const r = await admin.post<{ stdout: string; exit_code: number }>(`/api/machines/${agentId}/backstage/exec`, { command: 'printf \'hi %s\' "$((6*7))"' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.stdout, 'hi 42');
    assert.equal(r.body.exit_code, 0);
    const op = await stack.createUser('oscar', 'operator');
    const opApi = await login(stack.url, op.name, op.password);
    const denied = await opApi.post<{ error_code: string }>(`/api/machines/${agentId}/backstage/exec`, { command: 'id' });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error_code, 'FORBIDDEN');
    const audit = await eventually(async () => {
      const a = await admin.get<{ events: { event_type: string; user_name: string; details: Record<string, unknown> }[] }>('/api/audit?limit=200');
      const cmd = a.body.events.find((e) => e.event_type === 'backstage_command' && String(e.details.command_text).startsWith('printf'));
      const deny = a.body.events.find((e) => e.event_type === 'access_denied' && e.user_name === 'oscar');
      return cmd && deny ? { cmd, deny } : undefined;
    }, 'audit rows for the command and the denial');
    assert.equal(audit.cmd.user_name, 'admin');
    assert.equal(JSON.stringify(audit.cmd.details).includes('hi 42'), false, 'the audit row never holds the output');
  });

  it('hides a machine from a user without a grant and refuses a viewer a switch (audited)', async () => {
    const v = await stack.createUser('vicky', 'viewer');
    const viewer = await login(stack.url, v.name, v.password);
    const hidden = await viewer.get<{ error_code: string }>(`/api/machines/${agentId}/windows-sessions`);
    assert.equal(hidden.status, 404, 'no grant: the machine does not exist for this user');
    assert.equal(hidden.body.error_code, 'MACHINE_NOT_FOUND');
    assert.deepEqual((await viewer.get<{ machines: unknown[] }>('/api/machines')).body.machines, []);
    const denied = await viewer.post<{ error_code: string }>(`/api/machines/${agentId}/switch-session`, { session_id: displays.displays[0]!.display + 1 });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error_code, 'FORBIDDEN');
    await eventually(async () => {
      const a = await admin.get<{ events: { event_type: string; user_name: string }[] }>('/api/audit?type=access_denied&limit=50');
      return a.body.events.find((e) => e.user_name === 'vicky');
    }, 'the denied switch in the audit log');
  });

  it('shows the machine offline when its agent stops', async () => {
    await stack.services.agent!.stop();
    await eventually(
      async () => {
        const r = await admin.get<{ machines: Machine[] }>('/api/machines');
        return r.body.machines.find((x) => x.agent_id === agentId && !x.online);
      },
      'the machine offline',
      20_000,
    );
  });
});
