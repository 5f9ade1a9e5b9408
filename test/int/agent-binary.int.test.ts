/**
 * The single-file Linux agent (issue 15): copied alone into an empty directory it runs, enrolls'
 * credentials in hand it connects to a real stack (its machine row goes online in the gateway's API),
 * and SIGTERM stops it gracefully (AGENT_STOPPING heard on the bus, exit 0). The installer's
 * enrollment call is run against the same gateway, CONFLICT included.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { enroll } from '../../agent/install/enroll.js';
import { renderEnvFile } from '../../agent/install/env-file.js';
import { parseInstallArgs } from '../../agent/install/install-args.js';
import { connectBus } from '../../proto/bus/connect.js';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';
import { decode } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { openViewerSocket } from '../support/viewer-ws.js';
import { type Api, eventually, login } from '../support/api.js';
import { createEnrollmentKey, ensureAgentBinary, machineRow, watchAgentStates } from '../support/agent-binary.js';

const repo = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const AGENT = 'binary-agent-1';

describe('the single-file Linux agent', () => {
  let binary: string;
  let dataDir: string;
  let dir: string;
  let stack: Stack;
  let api: Api;
  let displays: Awaited<ReturnType<typeof startUserDisplays>> | undefined;

  before(async () => {
    binary = ensureAgentBinary('linux-x64');
    dataDir = mkdtempSync(join(tmpdir(), 'gc-binary-stack-'));
    dir = mkdtempSync(join(tmpdir(), 'gc-binary-alone-'));
    copyFileSync(binary, join(dir, 'guruconnect-agent'));
    spawnSync('chmod', ['0755', join(dir, 'guruconnect-agent')]);
    displays = await startUserDisplays(['gc-binary-ann']);
    stack = await startStack({ dataDir, agent: false, fastPostgres: true });
    api = await login(stack.url, stack.admin.name, stack.admin.password);
  });
  after(async () => {
    await stack?.stop();
    await displays?.stop();
    for (const d of [dataDir, dir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  // Nothing of the repo's: no node on PATH, no NODE_OPTIONS, no node_modules near the binary.
  const bareEnv = (extra: NodeJS.ProcessEnv = {}) => ({ PATH: '/usr/bin:/bin', HOME: dir, ...extra });

  it('runs alone: --version prints the build version and extracts nothing', () => {
    const r = spawnSync(join(dir, 'guruconnect-agent'), ['--version'], { cwd: dir, env: bareEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
    assert.deepEqual(readdirSync(dir), ['guruconnect-agent']);
    const bad = spawnSync(join(dir, 'guruconnect-agent'), ['frobnicate'], { cwd: dir, env: bareEnv(), encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /usage: guruconnect-agent/);
  });

  it('install --dry-run prints the systemd unit and writes nothing', () => {
    const r = spawnSync(join(dir, 'guruconnect-agent'), ['install', '--dry-run', '--agent-id', AGENT], { cwd: dir, env: bareEnv(), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ExecStart="\/usr\/local\/bin\/guruconnect-agent" run --config "\/etc\/guruconnect\/agent.env"$/m);
    assert.match(r.stdout, /^Restart=always$/m);
    assert.match(r.stdout, new RegExp(`would enroll ${AGENT}`));
    assert.deepEqual(readdirSync(dir), ['guruconnect-agent']);
  });

  it("the installer's enrollment gets credentials once; the same id again is a CONFLICT", async () => {
    const args = parseInstallArgs(['--server', stack.url, '--enroll-key', await createEnrollmentKey(stack.url, api.token), '--agent-id', AGENT]);
    assert.ok(args.ok);
    const first = await enroll(args.value, 'binary-host');
    assert.ok(first.ok, JSON.stringify(first));
    assert.match(first.value.creds, /BEGIN NATS USER JWT/);
    writeFileSync(join(dir, 'agent.creds'), first.value.creds, { mode: 0o600 });
    // The deployment's NATS CA comes with the credentials: the agent trusts exactly this stack.
    assert.match(first.value.nats_ca ?? '', /BEGIN CERTIFICATE/);
    writeFileSync(join(dir, 'nats-ca.pem'), first.value.nats_ca!, { mode: 0o600 });
    const again = parseInstallArgs(['--server', stack.url, '--enroll-key', await createEnrollmentKey(stack.url, api.token), '--agent-id', AGENT]);
    assert.ok(again.ok);
    const second = await enroll(again.value, 'binary-host');
    assert.equal(second.ok, false);
    if (!second.ok) assert.equal(second.code, 'CONFLICT');
    const wrongKey = parseInstallArgs(['--server', stack.url, '--enroll-key', 'not-a-key', '--agent-id', 'binary-agent-2']);
    assert.ok(wrongKey.ok);
    const third = await enroll(wrongKey.value, 'binary-host');
    assert.equal(third.ok, false);
  });

  it('connects with those credentials: online in the API, then SIGTERM publishes AGENT_STOPPING and exits 0', async () => {
    const stateDir = join(dir, 'state');
    writeFileSync(
      join(dir, 'agent.env'),
      renderEnvFile({
        NATS_URL: stack.natsUrl,
        GC_AGENT_ID: AGENT,
        GC_AGENT_CREDS: join(dir, 'agent.creds'),
        GC_NATS_CA: join(dir, 'nats-ca.pem'),
        GC_AGENT_STATE_DIR: stateDir,
        GC_HEARTBEAT_MS: '1000',
      }),
    );
    const watch = await watchAgentStates(stack, AGENT);
    const proc = spawn(join(dir, 'guruconnect-agent'), ['run', '--config', join(dir, 'agent.env')], { cwd: dir, env: bareEnv() });
    let out = '';
    let stdout = '';
    proc.stdout.on('data', (d) => {
      out += d;
      stdout += d;
    });
    proc.stderr.on('data', (d) => {
      out += d;
    });
    const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    try {
      const row = await eventually(
        async () => {
          const m = await machineRow(api, AGENT);
          return m?.online ? m : undefined;
        },
        `machine ${AGENT} online\n${out}`,
        60_000,
        250,
      );
      assert.equal(row.agent_version, version);
      assert.equal(row.platform, 'linux');
      const conn = JSON.parse(readFileSync(join(stateDir, 'connection.json'), 'utf8')) as { connected: boolean; pid: number };
      assert.deepEqual([conn.connected, conn.pid], [true, proc.pid]);
      assert.ok(watch.states.includes(0), 'an AGENT_ONLINE status was heard');

      // Backstage: a command spawned by the binary.
      const exec = await api.post<{ stdout: string; exit_code: number }>(`/api/machines/${AGENT}/backstage/exec`, { command: 'printf \'hi %s\' "$((6*7))"' });
      assert.equal(exec.status, 200, JSON.stringify(exec.body));
      assert.equal(exec.body.stdout, 'hi 42');

      // Live view: X11 capture and JPEG tiles go through koffi, whose native module the binary carries as an asset.
      const nc = await connectBus({ servers: stack.natsUrl, name: 'binary-frames', credsFile: await stack.credsFor('launcher'), caFile: stack.natsCa });
      let tiles = 0;
      const sub = nc.subscribe(subjects.frames(AGENT as AgentId), {
        callback: (_e, m) => {
          const d = decode(m.data, m.subject);
          if (d.ok) tiles += d.value.videoFrame?.tiles?.length ?? 0;
        },
      });
      const ws = await openViewerSocket(stack.url, AGENT, api.token, () => {});
      try {
        ws.send(JSON.stringify({ t: 'watch' }));
        await eventually(async () => (tiles > 0 ? true : undefined), `frames with tiles from the binary\n${out}`, 30_000, 100);
      } finally {
        ws.close();
        sub.unsubscribe();
        await nc.close();
      }
      assert.ok(
        readdirSync(join(dir, 'guruconnect-native')).some((f) => /^koffi-[0-9a-f]{16}\.node$/.test(f)),
        'koffi extracted beside the binary on first use',
      );

      proc.kill('SIGTERM');
      assert.equal(await exit, 0, out);
      await eventually(async () => (watch.states.includes(1) ? true : undefined), 'AGENT_STOPPING', 10_000, 100);
      // Its log is JSON lines from the processes' one factory, the agent id on every one.
      const lines = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg?: string; agent_id?: string; process?: string; reason?: string });
      assert.deepEqual([...new Set(lines.map((l) => `${l.process} ${l.agent_id}`))], [`agent ${AGENT}`], stdout);
      assert.ok(
        lines.some((l) => l.msg === 'SIGTERM: stopping' && l.reason === 'SIGTERM'),
        stdout,
      );
      const after = JSON.parse(readFileSync(join(stateDir, 'connection.json'), 'utf8')) as { connected: boolean };
      assert.equal(after.connected, false);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await watch.close();
    }
  });
});
