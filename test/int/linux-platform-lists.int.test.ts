/** The Linux process and service lists against this real host: scale, hostile names, churn, unknown uids, the cache's age. */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLinuxPlatform } from '../../agent/platform/linux/index.js';
import type { BackstageRunner } from '../../agent/backstage/runner.js';
import { createBackstageHandler } from '../../agent/runtime/backstage-handler.js';
import { MAX_MESSAGE_BYTES, decode, encode, message, pb } from '../../proto/codec.js';
import { ErrorCode, err } from '../../proto/errors.js';
import { skipUnlessServiceManager } from '../support/host.js';
import { silentLog } from '../support/log-lines.js';

const platform = createLinuxPlatform({ openDesktop: async () => err(ErrorCode.NOT_AVAILABLE, 'not in this test') });
const started: ChildProcess[] = [];
const dirs: string[] = [];
after(() => {
  for (const c of started) {
    try {
      // Each was started as a group leader: end it and everything it started.
      process.kill(-c.pid!, 'SIGKILL');
    } catch {}
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function startGroup(cmd: string, args: string[], opts: { uid?: number; gid?: number } = {}): ChildProcess {
  const c = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'], ...opts });
  started.push(c);
  return c;
}

const firstLine = (c: ChildProcess) =>
  new Promise<string>((resolve, reject) => {
    let buf = '';
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    c.once('exit', (code) => reject(new Error(`exited with ${code} before printing`)));
  });

const psPids = () => new Set(execFileSync('ps', ['-eo', 'pid='], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number));

test('1,000 sleepers: every one is listed with its parent, and the list holds every process ps sees before and after', async () => {
  const parent = startGroup('sh', ['-c', 'i=0; while [ $i -lt 1000 ]; do sleep 600 & i=$((i+1)); done; echo ready; wait']);
  assert.equal(await firstLine(parent), 'ready');
  // A child forked but not yet exec'd is still `sh` (under load, for a while): wait until all are sleep.
  const childRows = () =>
    execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(parent.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/));
  let rows = childRows();
  for (let i = 0; i < 200 && rows.some(([, comm]) => comm !== 'sleep'); i++) {
    await new Promise((res) => setTimeout(res, 50));
    rows = childRows();
  }
  const children = new Set(rows.map(([pid]) => Number(pid)));
  assert.equal(children.size, 1000);
  const before = psPids();
  const r = await platform.listProcesses({ cpuSampleMs: 0 });
  const afterList = psPids();
  assert.ok(r.ok, JSON.stringify(r));
  const listed = new Map(r.value.map((p) => [p.pid, p]));
  const sleepers = r.value.filter((p) => p.parentPid === parent.pid);
  assert.equal(sleepers.length, 1000);
  assert.ok(sleepers.every((p) => p.name === 'sleep' && p.commandLine === 'sleep 600' && p.user === 'root' && children.has(p.pid ?? 0)));
  // A process alive before and after the listing was alive throughout: it must be in it.
  const missing = [...before].filter((pid) => afterList.has(pid) && !listed.has(pid));
  assert.deepEqual(missing, []);
  // No pid twice.
  assert.equal(listed.size, r.value.length);
});

test('a process named with a newline, parentheses and invalid UTF-8 is listed under that name, intact through protobuf', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-odd-comm-'));
  dirs.push(dir);
  // The kernel names a process after the basename it was executed by: a symlink gives any bytes but NUL and '/'.
  const raw = Buffer.from([0x61, 0x0a, 0x62, 0x29, 0x20, 0x28, 0x63, 0xff]);
  symlinkSync('/bin/sleep', Buffer.concat([Buffer.from(`${dir}/`), raw]));
  const c = startGroup('sh', ['-c', 'echo started; exec "$0"/* 600', dir]);
  await firstLine(c);
  // Wait for the exec to have happened (the shell's own name until then).
  let name = '';
  for (let i = 0; i < 100 && !name.startsWith('a'); i++) {
    await new Promise((res) => setTimeout(res, 20));
    name = readFileSync(`/proc/${c.pid}/comm`, 'latin1');
  }
  const r = await platform.listProcesses({ cpuSampleMs: 0 });
  assert.ok(r.ok);
  const odd = r.value.find((p) => p.pid === c.pid);
  assert.equal(odd?.name, 'a\nb) (c\ufffd');
  assert.equal(odd?.parentPid, process.pid);
  const back = decode(encode(message({ backstageOutput: { commandType: 2, final: true, processList: { processes: [odd] } } })));
  assert.ok(back.ok);
  assert.equal(back.value.backstageOutput?.processList?.processes?.[0]?.name, 'a\nb) (c\ufffd');
});

test('a uid with no passwd entry is shown as its number', async () => {
  const uid = 54321;
  assert.ok(
    !readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .some((l) => l.split(':')[2] === String(uid)),
    'precondition: uid 54321 has no passwd entry',
  );
  const c = startGroup('sh', ['-c', 'echo up; exec sleep 600'], { uid, gid: uid });
  await firstLine(c);
  const r = await platform.listProcesses({ cpuSampleMs: 0 });
  assert.ok(r.ok);
  assert.equal(r.value.find((p) => p.pid === c.pid)?.user, String(uid));
});

test('processes born and gone while the list is read never make it fail', async () => {
  const churn = startGroup('sh', ['-c', 'echo go; while :; do /bin/true; done']);
  await firstLine(churn);
  for (let i = 0; i < 20; i++) {
    const r = await platform.listProcesses({ cpuSampleMs: i % 5 === 0 ? 30 : 0 });
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(r.value.some((p) => p.pid === churn.pid));
    assert.ok(r.value.every((p) => (p.pid ?? 0) > 0 && typeof p.name === 'string'));
  }
});

test('300 processes with 4 KB command lines (any local user can start them): the backstage answer still fits one message and lists them all', async () => {
  const pad = 'p'.repeat(4000);
  // `sh -c 'sleep 600; :' <pad>`: the shell stays (a trailing command), its argv holds the padding.
  const parent = startGroup('sh', ['-c', `i=0; while [ $i -lt 300 ]; do sh -c 'sleep 600; :' ${pad} & i=$((i+1)); done; echo ready; wait`]);
  assert.equal(await firstLine(parent), 'ready');
  let sent: Uint8Array | undefined;
  const handler = createBackstageHandler({
    platform,
    runner: {} as BackstageRunner,
    publisher: {
      async event(_kind, payload, correlationId) {
        sent = encode(message(payload, { agentId: 'lists-agent', correlationId }));
        return 1;
      },
      frame() {},
    },
    agentVersion: 'test',
  });
  const cmd = decode(encode(message({ backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_LIST_PROCESSES } }, { agentId: 'lists-agent' })));
  assert.ok(cmd.ok);
  // The shells start their sleeps asynchronously: wait until all 300 padded shells are up.
  // A liveness bound, not a timing assertion (a busy machine starts them slowly).
  let up = 0;
  for (let i = 0; i < 600 && up < 300; i++) {
    const r = await platform.listProcesses({ cpuSampleMs: 0 });
    up = r.ok ? r.value.filter((p) => p.parentPid === parent.pid && (p.commandLine ?? '').includes(pad)).length : 0;
    if (up < 300) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(up, 300, 'the 300 padded shells are up');
  await handler(cmd.value, silentLog());
  assert.ok(sent);
  assert.ok(sent.byteLength <= MAX_MESSAGE_BYTES, `${sent.byteLength} bytes`);
  const back = decode(sent, 'gc.agent.lists-agent.backstage.output');
  assert.ok(back.ok, back.ok ? '' : back.error.message);
  const list = back.value.backstageOutput?.processList;
  assert.equal(back.value.backstageOutput?.error, null);
  assert.equal(list?.omitted, 0);
  assert.equal(list?.commandLinesCut, true);
  assert.equal(list?.processes?.filter((p) => p.parentPid === parent.pid && (p.commandLine ?? '').startsWith('sh -c sleep 600; : ppp')).length, 300);
});

test('the service list comes from the agent cache the second time, with its age', { skip: skipUnlessServiceManager('systemd', 'sysv') }, async () => {
  const first = await platform.listServices();
  assert.ok(first.ok && first.value.available, JSON.stringify(first));
  await new Promise((res) => setTimeout(res, 60));
  const second = await platform.listServices();
  assert.ok(second.ok);
  // A fresh read would be younger than the pause between the two calls.
  assert.ok((second.value.ageMs ?? 0) >= 60, `ageMs ${second.value.ageMs}`);
  assert.deepEqual(
    second.value.services?.map((s) => s.name),
    first.value.services?.map((s) => s.name),
  );
});
