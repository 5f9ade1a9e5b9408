/**
 * The single-file Windows agent as a real service, under Wine (issue 15), driven from the Linux side
 * against a real stack: the built guruconnect-agent.exe runs by itself (--version); `install` enrolls
 * and registers a service that Wine's service manager starts; it reaches RUNNING and its machine row
 * goes online in the gateway's API; `sc stop` ends it through SERVICE_CONTROL_STOP with AGENT_STOPPING
 * on the bus; `uninstall` removes the service and the credentials. Run by test/windows/run.sh (which
 * exports WINEPREFIX and names node.exe in GC_WINE_NODE and the built exe in GC_AGENT_EXE).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { type Api, eventually, login } from '../support/api.js';
import { createEnrollmentKey, machineRow, watchAgentStates } from '../support/agent-binary.js';

const repo = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;
const AGENT = 'wine-service-agent';
const prefix = process.env.WINEPREFIX ?? '';
const exeBuilt = process.env.GC_AGENT_EXE ?? '';
const nodeExe = process.env.GC_WINE_NODE ?? '';
const dataDir = join(prefix, 'drive_c', 'ProgramData', 'GuruConnect');
const programDir = join(prefix, 'drive_c', 'Program Files', 'GuruConnect');

/** Runs `wine <args>` to completion; node.exe's stdout must be a file under Wine, not a pipe. */
async function wine(work: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const outFile = join(work, `out-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn('sh', ['-c', 'exec wine "$@" >"$OUT" 2>&1', 'wine', ...args], { env: { ...process.env, OUT: outFile }, stdio: 'ignore' });
    p.on('exit', (c) => resolve(c));
  });
  const out = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
  rmSync(outFile, { force: true });
  return { code, out };
}

describe('guruconnect-agent.exe as a Windows service under Wine', () => {
  let stack: Stack;
  let api: Api;
  let work: string;
  let exe: string;
  let keepAlive: ChildProcess | undefined;

  before(async () => {
    assert.ok(prefix && existsSync(exeBuilt) && existsSync(nodeExe), 'run through test/windows/run.sh (WINEPREFIX, GC_AGENT_EXE, GC_WINE_NODE)');
    work = mkdtempSync(join(tmpdir(), 'gc-wine-service-'));
    exe = join(work, 'guruconnect-agent.exe');
    copyFileSync(exeBuilt, exe);
    // Wine ends its service processes when the last ordinary process of the prefix exits: one stays for the test.
    keepAlive = spawn('sh', ['-c', 'exec wine "$0" -e "setTimeout(() => {}, 900000)" >/dev/null 2>&1', nodeExe], { stdio: 'ignore' });
    stack = await startStack({ dataDir: join(work, 'stack'), agent: false, fastPostgres: true });
    api = await login(stack.url, stack.admin.name, stack.admin.password);
    // A service left by an interrupted earlier run would make install refuse.
    await wine(work, [exe, 'uninstall']);
  });
  after(async () => {
    if (exe) await wine(work, [exe, 'uninstall']).catch(() => {});
    await stack?.stop();
    if (keepAlive?.pid) keepAlive.kill('SIGTERM');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs by itself: --version', async () => {
    const r = await wine(work, [exe, '--version']);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), version);
  });

  it('install → RUNNING and online; sc stop → AGENT_STOPPING and STOPPED; uninstall → service and credentials gone', async () => {
    const watch = await watchAgentStates(stack, AGENT);
    try {
      const key = await createEnrollmentKey(stack.url, api.token);
      const installed = await wine(work, [exe, 'install', '--server', stack.url, '--enroll-key', key, '--agent-id', AGENT]);
      assert.equal(installed.code, 0, installed.out);
      assert.match(installed.out, /service GuruConnectAgent running/);
      assert.ok(existsSync(join(dataDir, 'agent.creds')), 'credentials written');
      assert.ok(existsSync(join(programDir, 'guruconnect-agent.exe')), 'binary installed');

      const row = await eventually(
        async () => {
          const m = await machineRow(api, AGENT);
          return m?.online ? m : undefined;
        },
        `machine ${AGENT} online`,
        60_000,
        250,
      );
      assert.equal(row.platform, 'windows');
      assert.equal(row.agent_version, version);
      const status = await wine(work, [exe, 'status']);
      assert.match(status.out, /^service: running$/m, status.out);
      assert.match(status.out, /^connection: connected to /m, status.out);
      assert.equal(status.code, 0, status.out);
      assert.ok(watch.states.includes(0), 'AGENT_ONLINE heard');
      assert.ok(!watch.states.includes(1), 'no AGENT_STOPPING before the stop');

      const stopSent = Date.now();
      const stop = await wine(work, ['sc', 'stop', 'GuruConnectAgent']);
      assert.equal(stop.code, 0, stop.out);
      await eventually(
        async () => {
          const s = await wine(work, [exe, 'status']);
          return /^service: stopped$/m.test(s.out) ? true : undefined;
        },
        'service stopped',
        30_000,
        200,
      );
      console.log(`# sc stop → STOPPED seen after ${Date.now() - stopSent} ms (including Wine process starts of the status probes)`);
      await eventually(async () => (watch.states.includes(1) ? true : undefined), 'AGENT_STOPPING heard', 10_000, 100);
      // agent.log holds the agent's JSON lines (proto/log/logger.ts), the service's own among them.
      const log = readFileSync(join(dataDir, 'state', 'agent.log'), 'utf8');
      const lines = log
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; time?: string; agent_id?: string; component?: string });
      const stopping = lines.findIndex((l) => l.msg === 'SERVICE_CONTROL_STOP: stopping');
      const stopped = lines.findIndex((l) => l.component === 'service' && l.msg === 'stopped');
      assert.ok(stopping >= 0 && stopped > stopping, `graceful stop in the service log:\n${log}`);
      assert.equal(lines[stopped]?.agent_id, AGENT, 'the service line carries the agent id');
      const ts = (i: number) => Date.parse(lines[i]?.time ?? '');
      console.log(`# graceful stop inside the service took ${ts(stopped) - ts(stopping)} ms`);

      const removed = await wine(work, [exe, 'uninstall']);
      assert.equal(removed.code, 0, removed.out);
      const gone = await wine(work, [exe, 'status']);
      assert.match(gone.out, /^service: not installed$/m, gone.out);
      assert.equal(existsSync(dataDir), false, 'credentials and state removed');
      assert.equal(existsSync(programDir), false, 'installed binary removed');
    } finally {
      await watch.close();
    }
  });
});
