import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import { parsePasswd } from '../../agent/platform/linux/passwd.js';
import { parseStat } from '../../agent/platform/linux/procfs.js';
import { validServiceName } from '../../agent/platform/linux/services.js';
import { enabledFromRcLinks, parseSystemdServices, parseSystemdShow, parseSysvStatusAll } from '../../agent/platform/linux/services-parse.js';
import { parseMeminfo, prettyName } from '../../agent/platform/linux/system-info.js';
import { xServerOf } from '../../agent/platform/linux/x-servers.js';

const S = guruconnect.ServiceStatus;

// Captured from `systemctl ... --output=json` on Debian 12 (systemd 252), trimmed.
const UNITS = JSON.stringify([
  { unit: 'cron.service', load: 'loaded', active: 'active', sub: 'running', description: 'Regular background program processing daemon' },
  { unit: 'ssh.service', load: 'loaded', active: 'inactive', sub: 'dead', description: 'OpenBSD Secure Shell server' },
  { unit: 'networking.service', load: 'loaded', active: 'active', sub: 'exited', description: 'Raise network interfaces' },
  { unit: 'apt-daily.service', load: 'loaded', active: 'activating', sub: 'start', description: 'Daily apt download activities' },
  { unit: 'getty@tty1.service', load: 'loaded', active: 'failed', sub: 'failed', description: 'Getty on tty1' },
  { unit: 'dev-sda.device', load: 'loaded', active: 'active', sub: 'plugged', description: 'not a service' },
]);
const FILES = JSON.stringify([
  { unit_file: 'cron.service', state: 'enabled', preset: 'enabled' },
  { unit_file: 'ssh.service', state: 'disabled', preset: 'enabled' },
  { unit_file: 'networking.service', state: 'enabled', preset: 'enabled' },
  { unit_file: 'getty@.service', state: 'enabled', preset: 'enabled' },
  { unit_file: 'rsync.service', state: 'disabled', preset: 'enabled' },
]);

test('systemd JSON: status, startup type, MainPID, unloaded unit files, templates skipped', () => {
  const pids = parseSystemdShow('Id=cron.service\nMainPID=512\n\nId=ssh.service\nMainPID=0\n');
  const list = parseSystemdServices(UNITS, FILES, pids);
  const by = new Map(list.map((s) => [s.name, s]));
  assert.deepEqual(
    list.map((s) => s.name),
    ['apt-daily', 'cron', 'getty@tty1', 'networking', 'rsync', 'ssh'],
  );
  assert.deepEqual(by.get('cron'), { name: 'cron', displayName: 'Regular background program processing daemon', status: S.SERVICE_RUNNING, startupType: 'enabled', pid: 512 });
  assert.equal(by.get('ssh')?.status, S.SERVICE_STOPPED);
  assert.equal(by.get('ssh')?.startupType, 'disabled');
  assert.equal(by.get('networking')?.status, S.SERVICE_RUNNING);
  assert.equal(by.get('apt-daily')?.status, S.SERVICE_PENDING);
  assert.equal(by.get('getty@tty1')?.status, S.SERVICE_STOPPED);
  assert.equal(by.get('rsync')?.status, S.SERVICE_STOPPED);
  assert.equal(parseSystemdServices('not json', '[]').length, 0);
});

test('SysV `service --status-all` lines and rc S-links', () => {
  const text = ' [ + ]  cron\n [ - ]  dbus\n [ ? ]  hwclock.sh\ngarbage line\n';
  const list = parseSysvStatusAll(text, enabledFromRcLinks(['S01cron', 'K01dbus', 'README']));
  assert.deepEqual(
    list.map((s) => [s.name, s.status, s.startupType]),
    [
      ['cron', S.SERVICE_RUNNING, 'enabled'],
      ['dbus', S.SERVICE_STOPPED, 'disabled'],
      ['hwclock.sh', S.SERVICE_PENDING, 'disabled'],
    ],
  );
});

test('service names that could act as options or paths are rejected', () => {
  assert.ok(validServiceName('getty@tty1.service'));
  assert.ok(validServiceName('postgresql'));
  for (const bad of ['', '-x', '--now', 'a b', 'a;b', '../etc', 'a/b', '$(id)']) assert.equal(validServiceName(bad), false, bad);
});

test('/proc/<pid>/stat with spaces and parentheses in comm', () => {
  const st = parseStat(77, '77 (my (odd) proc) S 1 77 77 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 300 0 0');
  assert.deepEqual(st, { pid: 77, comm: 'my (odd) proc', state: 'S', ppid: 1, pgrp: 77, session: 77, flags: 4194560, cpuTicks: 300 });
});

test('passwd, meminfo, os-release, X server argv', () => {
  const acc = parsePasswd('root:x:0:0:root:/root:/bin/bash\n#c\nbad\ngc-bob:x:1001:1002::/home/gc-bob:/bin/bash\n');
  assert.deepEqual(
    acc.map((a) => [a.name, a.uid, a.gid, a.home]),
    [
      ['root', 0, 0, '/root'],
      ['gc-bob', 1001, 1002, '/home/gc-bob'],
    ],
  );
  assert.deepEqual(parseMeminfo('MemTotal:  2000 kB\nMemFree:  100 kB\nMemAvailable:  1500 kB\n'), { totalKb: 2000, freeKb: 1500 });
  assert.equal(prettyName('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'), 'Debian GNU/Linux 12 (bookworm)');
  assert.deepEqual(xServerOf(['Xvfb', ':42', '-screen', '0', '1024x768x24']), { display: 42, remote: false });
  assert.deepEqual(xServerOf(['/usr/bin/Xvnc', ':3', '-geometry', '800x600']), { display: 3, remote: true });
  assert.deepEqual(xServerOf(['/usr/lib/xorg/Xorg', ':10', '-config', 'xrdp/xorg.conf']), { display: 10, remote: true });
  assert.equal(xServerOf(['xterm', '-display', ':1']), undefined);
  assert.equal(xServerOf(['Xorg', 'vt7']), undefined);
});
