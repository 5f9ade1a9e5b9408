/**
 * The README's auditor and automation commands, typed as a person would (`npm run guruconnect -- …`
 * in the repo), against a stack launched the way `bash infra/up.sh` launches it (`npx tsx
 * infra/launcher/main.ts`) on a fresh data directory (issue 14, item 7).
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../infra/servers/free-port.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';
import { eventually, login } from '../support/api.js';

const repo = join(import.meta.dirname, '..', '..');

interface Run {
  proc: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exit: Promise<number>;
}

/** Starts a command in the repo with the data directory set, as the README's commands run. */
function run(dataDir: string, cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, GC_DATA_DIR: dataDir, ...extraEnv };
  for (const k of ['NATS_URL', 'NATS_CREDS', 'NATS_CA', 'DATABASE_URL']) if (!(k in extraEnv)) delete env[k];
  const proc = spawn(cmd, args, { cwd: repo, env, detached: true });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => {
    out += d;
  });
  proc.stderr.on('data', (d) => {
    err += d;
  });
  const exit = new Promise<number>((r) => proc.on('close', (code, signal) => r(code ?? (signal ? 128 : -1))));
  return { proc, out: () => out, err: () => err, exit };
}

const guruconnect = (dataDir: string, ...args: string[]) => run(dataDir, 'npm', ['run', '--silent', 'guruconnect', '--', ...args]);
const until = async (what: string, probe: () => boolean, ms = 60_000) => eventually(async () => (probe() ? true : undefined), what, ms, 100);

describe('README journeys of the auditor and of automation (whole stack, spawned commands)', () => {
  let dataDir: string;
  let stack: Run;
  let url: string;
  let displays: Awaited<ReturnType<typeof startUserDisplays>>;

  before(async () => {
    displays = await startUserDisplays(['gc-journey-ann']);
    dataDir = mkdtempSync(join(tmpdir(), 'gc-journey-'));
    stack = run(dataDir, 'npx', ['tsx', 'infra/launcher/main.ts'], { PORT: String(await freePort()) });
    await until('the dashboard URL', () => /Dashboard: (\S+)/.test(stack.out()), 120_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${stack.out()}\n${stack.err()}`);
    });
    url = /Dashboard: (\S+)\//.exec(stack.out())![1]!;
  });
  after(async () => {
    if (stack && stack.proc.exitCode === null) {
      process.kill(-stack.proc.pid!, 'SIGINT');
      await stack.exit;
    }
    await displays?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('auditor: audit verify exits 0 and audit replay prints the rows', async () => {
    const password = /Sign in as: admin \/ (\S+)/.exec(stack.out())![1]!;
    await login(url, 'admin', password);
    const verified = await eventually(
      async () => {
        const v = guruconnect(dataDir, 'audit', 'verify');
        return (await v.exit) === 0 ? v : undefined;
      },
      'audit verify exit 0',
      60_000,
      1000,
    );
    assert.match(verified.err(), /: OK/);
    const replay = guruconnect(dataDir, 'audit', 'replay', '--type', 'login');
    assert.equal(await replay.exit, 0, replay.err());
    assert.match(replay.out(), /login\s+admin/);

    // --follow keeps printing: a login after it started shows up as a new row.
    const follow = guruconnect(dataDir, 'audit', 'replay', '--follow', '--type', 'login', '--json');
    await until('the replayed login', () => follow.out().split('\n').filter(Boolean).length >= 1);
    const before = follow.out().split('\n').filter(Boolean).length;
    await login(url, 'admin', password);
    await until('a new login row while following', () => follow.out().split('\n').filter(Boolean).length > before);
    const last = JSON.parse(follow.out().trim().split('\n').at(-1)!) as { event_type: string; user_name: string };
    assert.deepEqual([last.event_type, last.user_name], ['login', 'admin']);
    process.kill(-follow.proc.pid!, 'SIGINT');
    // Ctrl-C ends it: exit 0, or npm itself ended by the signal (run() reports that as 128); never a crash (1).
    const code = await follow.exit;
    assert.ok(code === 0 || code === 128, `exit ${code}: ${follow.err()}`);
  });

  it('automation: an integration hears a decoded session list, the example sees a logon and a logoff, and revoking ends its connection', async () => {
    const created = guruconnect(dataDir, 'integrations', 'create', '--name', 'session-watch', '--events', 'sessions,status');
    assert.equal(await created.exit, 0, created.err());
    const creds = /credentials: (\S+)/.exec(created.out())![1]!;
    const natsUrl = /NATS URL:\s+(\S+)/.exec(created.out())![1]!;
    const natsCa = /NATS CA:\s+(\S+)/.exec(created.out())?.[1];
    assert.match(natsUrl, /^tls:\/\//, 'the stack speaks TLS');
    assert.ok(natsCa, created.out());
    assert.equal(statSync(creds).mode & 0o777, 0o600);

    const tail = guruconnect(dataDir, 'events', 'tail', '--creds', creds, '--type', 'sessions', '--json');
    const example = run(dataDir, 'npx', ['tsx', 'docs/examples/automation/session-watch.ts', '--creds', creds, '--ca', natsCa, '--server', natsUrl]);
    // The example's first list of an agent is its baseline (at most one heartbeat away).
    await until('the example to track the local agent', () => /tracking \S+: \d+ session/.test(example.err()));
    const second = await startUserDisplays(['gc-journey-ben']);
    try {
      await until('a decoded session list in events tail', () => /"type":"sessionList"/.test(tail.out()));
      const line = JSON.parse(
        tail
          .out()
          .split('\n')
          .find((l) => l.includes('"sessionList"'))!,
      ) as { subject: string; payload: { sessions?: Array<{ userName: string }> } };
      assert.match(line.subject, /^gc\.agent\.[^.]+\.sessions$/);
      assert.ok(
        line.payload.sessions?.some((s) => s.userName === 'gc-journey-ann' || s.userName === 'gc-journey-ben'),
        tail.out(),
      );
      await until('the example prints the logon', () => /logon\s+\S+\s+session \d+ gc-journey-ben/.test(example.out()));
    } finally {
      await second.stop();
    }
    await until('the example prints the logoff', () => /logoff\s+\S+\s+session \d+ gc-journey-ben/.test(example.out()));

    const revoked = guruconnect(dataDir, 'integrations', 'revoke', '--name', 'session-watch');
    assert.equal(await revoked.exit, 0, revoked.err());
    assert.equal(await tail.exit, 1, 'events tail ends when its credentials are revoked');
    assert.match(tail.err(), /closed the connection/);
    process.kill(-example.proc.pid!, 'SIGTERM');
    await example.exit;
    const list = guruconnect(dataDir, 'integrations', 'list');
    assert.equal(await list.exit, 0);
    assert.match(list.out(), /session-watch\s+revoked/);
  });

  it('bad input answers one line that says what to do', async () => {
    const unknown = guruconnect(dataDir, 'integrations', 'create', '--name', 'x', '--events', 'sessions,nope');
    assert.equal(await unknown.exit, 2);
    assert.match(unknown.err(), /unknown event name nope; use any of/);
    const scoped = guruconnect(dataDir, 'integrations', 'create', '--name', 'narrow', '--agents', 'some-agent', '--events', 'sessions');
    assert.equal(await scoped.exit, 0, scoped.err());
    const creds = /credentials: (\S+)/.exec(scoped.out())![1]!;
    const outside = guruconnect(dataDir, 'events', 'tail', '--creds', creds, '--subject', 'gc.agent.*.sessions');
    assert.equal(await outside.exit, 2);
    assert.match(outside.err(), /outside what these credentials may hear \(gc\.agent\.some-agent\.sessions/);
    const missing = guruconnect(dataDir, 'events', 'tail', '--creds', join(dataDir, 'missing.creds'));
    assert.equal(await missing.exit, 2);
    assert.equal(missing.err().trim().split('\n').length, 1);
  });

  it('HTTP automation: a service account token runs a backstage echo, and revoked it answers TOKEN_REVOKED', async () => {
    const bot = guruconnect(dataDir, 'users', 'create', '--name', 'ci-bot', '--role', 'admin', '--service');
    assert.equal(await bot.exit, 0, bot.err());
    const password = /Sign in as: admin \/ (\S+)/.exec(stack.out())![1]!;
    const admin = await login(url, 'admin', password);
    const created = await admin.post<{ id: string; token: string }>('/api/tokens', { name: 'nightly', user: 'ci-bot', expires_in_days: 90 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const agentId = (await admin.get<{ machines: Array<{ agent_id: string }> }>('/api/machines')).body.machines[0]!.agent_id;
    const exec = () =>
      fetch(`${url}/api/machines/${agentId}/backstage/exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${created.body.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'echo nightly-ok', shell: 'sh' }),
      });
    const ran = await exec();
    const body = (await ran.json()) as { stdout?: string; output?: string };
    assert.equal(ran.status, 200, JSON.stringify(body));
    assert.match(JSON.stringify(body), /nightly-ok/);
    const del = await fetch(`${url}/api/tokens/${created.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.token}` } });
    assert.ok(del.ok, String(del.status));
    const after = await exec();
    assert.equal(after.status, 401);
    assert.equal(((await after.json()) as { error_code: string }).error_code, 'TOKEN_REVOKED');
  });
});
