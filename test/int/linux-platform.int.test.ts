import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import { ErrorCode, err } from '../../proto/errors.js';
import { createLinuxPlatform } from '../../agent/platform/linux/index.js';
import { isAlive } from '../../agent/platform/linux/kill-process.js';
import { skipUnlessServiceManager } from '../support/host.js';

const platform = createLinuxPlatform({ openDesktop: async () => err(ErrorCode.NOT_AVAILABLE, 'not in this test'), agentVersion: '9.9.9-test' });

test('process list holds this test process with memory, parent and command line', async () => {
  const r = await platform.listProcesses({ cpuSampleMs: 0 });
  assert.ok(r.ok);
  const me = r.value.find((p) => p.pid === process.pid);
  assert.ok(me, 'own pid missing');
  assert.ok((me.memoryKb ?? 0) > 0);
  assert.equal(me.parentPid, process.ppid);
  assert.equal(me.user, 'root');
  assert.equal(me.cpuPercent, -1);
  assert.match(me.commandLine ?? '', /node/);
  assert.ok(r.value.some((p) => p.pid === 1));
});

test('CPU sampling gives a percentage for every process', async () => {
  const r = await platform.listProcesses({ cpuSampleMs: 200 });
  assert.ok(r.ok);
  assert.ok(r.value.every((p) => typeof p.cpuPercent === 'number' && p.cpuPercent >= 0 && p.cpuPercent <= 100));
});

// Which service manager this host has decides what the agent must answer (test/support/host.ts):
// one case per kind, the others skipped with the reason.
const knownStatus = (s: number | null | undefined) => Object.values(guruconnect.ServiceStatus).includes(s as number);

test('systemd host: lists units with names and known statuses; an unknown unit fails to start', { skip: skipUnlessServiceManager('systemd') }, async () => {
  const r = await platform.listServices();
  assert.ok(r.ok && r.value.available, JSON.stringify(r));
  assert.ok((r.value.services ?? []).length > 0);
  for (const s of r.value.services ?? []) {
    assert.match(s.name ?? '', /^\S+$/);
    assert.ok(knownStatus(s.status), JSON.stringify(s));
    assert.ok(s.startupType);
  }
  const c = await platform.controlService('gc-no-such-service', 'start');
  assert.ok(c.ok && c.value.ok === false, JSON.stringify(c));
});

test('sysv host: lists the init scripts (postgresql among them) with known statuses; an unknown one is NOT_FOUND', { skip: skipUnlessServiceManager('sysv') }, async () => {
  const r = await platform.listServices();
  assert.ok(r.ok && r.value.available, JSON.stringify(r));
  const services = r.value.services ?? [];
  // install-deps.sh installs PostgreSQL, whose package ships an init script.
  assert.ok(
    services.some((s) => s.name === 'postgresql'),
    JSON.stringify(services.map((s) => s.name)),
  );
  for (const s of services) {
    assert.ok(existsSync(`/etc/init.d/${s.name}`), `${s.name} is an init script`);
    assert.ok(knownStatus(s.status), JSON.stringify(s));
    assert.match(s.startupType ?? '', /^(enabled|disabled)$/);
  }
  const c = await platform.controlService('gc-no-such-service', 'start');
  assert.equal(!c.ok && c.error.code, ErrorCode.NOT_FOUND, JSON.stringify(c));
});

test('host without a service manager: no list, the reason, and control is NOT_AVAILABLE', { skip: skipUnlessServiceManager('none') }, async () => {
  const r = await platform.listServices();
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.value.available, false);
  assert.deepEqual(r.value.services, []);
  assert.match(r.value.unavailableReason ?? '', /no service manager/);
  const c = await platform.controlService('gc-no-such-service', 'start');
  assert.equal(!c.ok && c.error.code, ErrorCode.NOT_AVAILABLE, JSON.stringify(c));
});

test('service control validates the name before asking any manager', async () => {
  const bad = await platform.controlService('x; reboot', 'restart');
  assert.equal(!bad.ok && bad.error.code, ErrorCode.VALIDATION_FAILED);
});

test('killProcess ends a process, escalating to SIGKILL when SIGTERM is ignored', async () => {
  const polite = spawn('sleep', ['30'], { stdio: 'ignore' });
  const stubborn = spawn('sh', ['-c', 'trap "" TERM; while :; do sleep 0.2; done'], { stdio: 'ignore' });
  try {
    const a = await platform.killProcess(polite.pid!);
    assert.ok(a.ok && a.value.ok, JSON.stringify(a));
    assert.match(a.ok ? (a.value.detail ?? '') : '', /SIGTERM/);
    assert.equal(await isAlive(polite.pid!), false);
    const b = await platform.killProcess(stubborn.pid!);
    assert.ok(b.ok && b.value.ok, JSON.stringify(b));
    assert.match(b.ok ? (b.value.detail ?? '') : '', /SIGKILL/);
    assert.equal(await isAlive(stubborn.pid!), false);
    const gone = await platform.killProcess(polite.pid!);
    assert.equal(!gone.ok && gone.error.code, ErrorCode.NOT_FOUND);
    const self = await platform.killProcess(process.pid);
    assert.equal(!self.ok && self.error.code, ErrorCode.VALIDATION_FAILED);
  } finally {
    polite.kill('SIGKILL');
    stubborn.kill('SIGKILL');
  }
});

test('system info and identity describe this host', async () => {
  const r = await platform.systemInfo();
  assert.ok(r.ok);
  assert.equal(r.value.hostname, hostname());
  assert.equal(r.value.platform, 'linux');
  assert.equal(r.value.agentVersion, '9.9.9-test');
  assert.match(r.value.osVersion ?? '', /kernel \S+/);
  assert.ok((r.value.memoryTotalKb ?? 0) > (r.value.memoryFreeKb ?? 0));
  assert.ok((r.value.cpuCount ?? 0) >= 1);
  assert.ok((r.value.uptimeSecs ?? 0) > 0);
  assert.ok(Array.isArray(r.value.loggedOnSessions));
  const id = await platform.identity();
  assert.equal(id.hostname, hostname());
  assert.equal(id.elevated, process.getuid?.() === 0);
  assert.ok((await platform.uptimeSecs()) > 0);
});
