/**
 * Finding each display's X server (agent/platform/linux/x-servers.ts) against real Xvfb servers:
 * through the lock file the server wrote, and, when a lock is missing, stale or names something
 * else, through the scan of every process, which must still find the right server. (Xvfb started
 * with -displayfd, as the other tests start it, writes no lock file; the first test starts one on
 * a display of its own choosing, which does, as display managers' and xrdp's servers do.)
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { findXServers, parseXLockPid, readListeningXSockets } from '../../agent/platform/linux/x-servers.js';
import { type UserDisplay, startUserDisplays } from '../../infra/servers/x-displays.js';

let xs: Awaited<ReturnType<typeof startUserDisplays>>;
let display: UserDisplay;
const dir = mkdtempSync(join(tmpdir(), 'gc-x-locks-'));

before(async () => {
  xs = await startUserDisplays(['gc-xlock']);
  display = xs.displays[0]!;
});
after(async () => {
  await xs?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the lock file the server wrote names it', async () => {
  // A display number no other test picks (they let Xvfb choose with -displayfd, from the lowest free).
  let n = 700 + (process.pid % 200);
  while (existsSync(`/tmp/.X11-unix/X${n}`) || existsSync(`/tmp/.X${n}-lock`)) n++;
  const x: ChildProcess = spawn('Xvfb', [`:${n}`, '-screen', '0', '64x64x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200 && !existsSync(`/tmp/.X11-unix/X${n}`); i++) await new Promise((r) => setTimeout(r, 25));
    const pid = parseXLockPid(readFileSync(`/tmp/.X${n}-lock`, 'latin1'));
    assert.equal(pid, x.pid, 'Xvfb wrote its own pid in its lock file');
    const servers = await findXServers(await readListeningXSockets(), [n]);
    assert.equal(servers.get(n)?.pid, x.pid);
    assert.equal(servers.get(n)?.remote, false);
  } finally {
    x.kill();
    await new Promise((r) => x.once('exit', r));
  }
});

test('a lock naming another process, a stale pid or garbage falls back to the scan, which finds the server', async () => {
  const listening = await readListeningXSockets();
  const truth = (await findXServers(listening, [display.display])).get(display.display)?.pid;
  assert.ok(truth);
  for (const text of [String(process.pid), '1', String(2 ** 31 - 1), '-1', '0', '', '\u0000', 'x'.repeat(100_000), `${truth}junk`]) {
    writeFileSync(join(dir, `.X${display.display}-lock`), text);
    const servers = await findXServers(listening, [display.display], dir);
    assert.equal(servers.get(display.display)?.pid, truth, JSON.stringify(text.slice(0, 20)));
  }
  assert.match(readlinkSync(`/proc/${truth}/exe`), /Xvfb/);
});

test('a lock naming a real X server that serves another display resolves nothing for this one', async () => {
  const listening = await readListeningXSockets();
  const truth = (await findXServers(listening, [display.display])).get(display.display)?.pid;
  const other = display.display + 1000;
  writeFileSync(join(dir, `.X${other}-lock`), `${String(truth).padStart(10)}\n`);
  const servers = await findXServers(listening, [other], dir);
  assert.equal(servers.get(other), undefined);
});
