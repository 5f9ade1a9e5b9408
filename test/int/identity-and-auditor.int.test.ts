/**
 * Against the stack as `bash infra/up.sh` launches it: an enrollment key cannot take the
 * launcher's own agent id or a service's name (issue 13, finding 3), and the auditor's tools run
 * with no settings at all, as the auditor identity (issue 14, item 2).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { type Api, eventually, login } from '../support/api.js';
import { guruconnect } from '../support/guruconnect-cli.js';

const repo = join(import.meta.dirname, '..', '..');

describe('identities cannot be taken; auditors need no settings (whole stack)', () => {
  let dataDir: string;
  let stack: Stack;
  let admin: Api;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gc-identity-'));
    stack = await startStack({ dataDir, fastPostgres: true, heartbeatMs: 1000 });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    await eventually(async () => ((await admin.get<{ machines: unknown[] }>('/api/machines')).body.machines.length > 0 ? true : undefined), 'the local agent online');
  });
  after(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("an enrollment key cannot enroll the launcher's agent id or a service name", async () => {
    const key = await admin.post<{ key: string }>('/api/enrollment-keys', { reusable: true });
    assert.equal(key.status, 201);
    const enroll = (agent_id: string) =>
      fetch(`${stack.url}/api/agents/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ enrollment_key: key.body.key, agent_id, hostname: 'impostor' }),
      });
    for (const id of [stack.agentId!, 'projections', 'auditor', 'gateway']) {
      const r = await enroll(id);
      assert.equal(r.status, 409, `enrolling ${id} must be refused`);
      const body = (await r.json()) as { error_code: string; correlation_id: string };
      assert.equal(body.error_code, 'CONFLICT');
      assert.ok(body.correlation_id);
    }
    // A new id still enrolls with the same key.
    assert.equal((await enroll('new-machine')).status, 200);
  });

  it('audit verify and audit replay run with no environment, as the auditor', async () => {
    // Something to replay: a login is audited.
    await login(stack.url, stack.admin.name, stack.admin.password);
    const verify = await eventually(
      async () => {
        const r = await guruconnect(dataDir, ['audit', 'verify']);
        return r.code === 0 ? r : undefined;
      },
      'audit verify exit 0',
      60_000,
      1000,
    );
    assert.match(verify.stderr, /rows checked up to seq \d+: OK/);
    const replay = await guruconnect(dataDir, ['audit', 'replay', '--type', 'login']);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, /login\s+admin/);
    assert.doesNotMatch(replay.stderr, /at .+\.ts:\d+/, 'no stack trace');
  });

  it('audit verify --json prints one object on stdout: ok, then the altered row once a row is changed behind its back', async () => {
    type Report = { ok: boolean; rows_checked: number; checkpoint: number; findings: { kind: string; id: string; detail: string }[]; anchors: unknown[]; notes: string[] };
    const clean = await eventually(
      async () => {
        const r = await guruconnect(dataDir, ['audit', 'verify', '--json']);
        return r.code === 0 ? r : undefined;
      },
      'audit verify --json exit 0',
      60_000,
      1000,
    );
    const ok = JSON.parse(clean.stdout) as Report;
    assert.equal(clean.stdout.trim().split('\n').length, 1, 'one line');
    assert.equal(ok.ok, true);
    assert.deepEqual(ok.findings, []);
    assert.ok(ok.rows_checked > 0 && ok.checkpoint > 0, clean.stdout);

    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    try {
      const row = (await db.query<{ id: string; details: unknown }>("SELECT id, details FROM events WHERE event_type = 'login' ORDER BY seq LIMIT 1")).rows[0]!;
      await db.query('UPDATE events SET details = $2 WHERE id = $1', [row.id, JSON.stringify({ tampered: true })]);
      try {
        const r = await guruconnect(dataDir, ['audit', 'verify', '--json']);
        assert.equal(r.code, 1, r.stderr);
        const bad = JSON.parse(r.stdout) as Report;
        assert.equal(bad.ok, false);
        assert.ok(
          bad.findings.some((f) => f.kind === 'altered' && f.id === row.id),
          r.stdout,
        );
      } finally {
        await db.query('UPDATE events SET details = $2 WHERE id = $1', [row.id, JSON.stringify(row.details)]);
      }
    } finally {
      await db.end();
    }
  });

  it('a missing creds file is one line that says what to do', async () => {
    const env = { ...process.env, GC_DATA_DIR: dataDir, NATS_CREDS: join(dataDir, 'no-such.creds') };
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const p = spawn('npm', ['run', '--silent', 'guruconnect', '--', 'audit', 'replay'], { cwd: repo, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.on('data', (d) => {
        stderr += d;
      });
      p.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /cannot read NATS_CREDS .*ENOENT.*auditor/);
  });
});
