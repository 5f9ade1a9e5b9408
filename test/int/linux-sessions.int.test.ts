import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import { ErrorCode, ok } from '../../proto/errors.js';
import { type DesktopTarget, createLinuxPlatform } from '../../agent/platform/linux/index.js';
import { TERMINAL_ID_BASE } from '../../agent/platform/linux/sessions.js';
import { UtType } from '../../agent/platform/linux/utmp.js';
import { encodeUtmp } from '../support/utmp.js';
import { runCommand } from '../../agent/backstage/run-command.js';
import type { SessionDesktop, SessionInfo } from '../../agent/platform/port.js';
import { type UserDisplay, startUserDisplays } from '../../infra/servers/x-displays.js';

const opened: DesktopTarget[] = [];
const platform = createLinuxPlatform({
  openDesktop: async (t) => {
    opened.push(t);
    return ok({ sessionId: t.sessionId } as unknown as SessionDesktop);
  },
});

let xs: Awaited<ReturnType<typeof startUserDisplays>>;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  xs = await startUserDisplays(['gc-alice', 'gc-bob']);
  stops.push(() => xs.stop());
});
after(async () => {
  for (const s of stops.reverse()) await s();
});

async function sessionsOn(displays: UserDisplay[]): Promise<SessionInfo[]> {
  const r = await platform.listSessions();
  assert.ok(r.ok, JSON.stringify(r));
  const names = new Set(displays.map((d) => d.name));
  return r.value.filter((s) => names.has(s.stationName ?? ''));
}

test('each user display is a capturable session with its owner and station name', async () => {
  const list = await sessionsOn(xs.displays);
  assert.equal(list.length, 2);
  for (const d of xs.displays) {
    const s = list.find((x) => x.stationName === d.name);
    assert.ok(s, `no session for ${d.name}`);
    assert.equal(s.userName, d.user);
    assert.equal(s.sessionId, d.display + 1);
    assert.equal(s.capturable, true);
    assert.equal(s.type, guruconnect.WindowsSessionType.SESSION_CONSOLE);
    assert.notEqual(s.state, guruconnect.SessionState.SESSION_DISCONNECTED);
    assert.ok((s.logonTimeMs ?? 0) > 0);
    assert.ok(typeof s.idleSecs === 'number' && s.idleSecs >= 0);
  }
  const all = await platform.listSessions();
  assert.ok(all.ok && all.value.every((s) => s.sessionId !== 0), 'Session 0 is never listed');
});

test('openDesktop delegates with the display, and refuses unknown or dead sessions', async () => {
  const bob = xs.displays[1]!;
  const r = await platform.openDesktop(bob.display + 1);
  assert.ok(r.ok);
  assert.deepEqual(opened.at(-1), { sessionId: bob.display + 1, display: bob.name, uid: bob.uid, user: 'gc-bob' });
  const missing = await platform.openDesktop(59_999);
  assert.equal(!missing.ok && missing.error.code, ErrorCode.SESSION_NOT_FOUND);

  // A socket nobody serves as an X server (a crashed server's leftover): listed, not capturable.
  let n = 900;
  while (existsSync(`/tmp/.X11-unix/X${n}`)) n++;
  const path = `/tmp/.X11-unix/X${n}`;
  const stale = createServer();
  await new Promise<void>((r) => stale.listen(path, r));
  try {
    const r2 = await platform.listSessions();
    const s = r2.ok ? r2.value.find((x) => x.stationName === `:${n}`) : undefined;
    assert.equal(s?.capturable, false);
    assert.equal(s?.state, guruconnect.SessionState.SESSION_DISCONNECTED);
    const o = await platform.openDesktop(n + 1);
    assert.equal(!o.ok && o.error.code, ErrorCode.SESSION_NOT_CAPTURABLE);
  } finally {
    await new Promise((r) => stale.close(r));
    if (existsSync(path)) unlinkSync(path);
  }
});

test('a socket file nobody listens on (what a killed X server leaves) is no session at all', async () => {
  let n = 950;
  while (existsSync(`/tmp/.X11-unix/X${n}`)) n++;
  const path = `/tmp/.X11-unix/X${n}`;
  // Bound but never listening, then the process exits: the file stays, like after a SIGKILLed server.
  // (perl-base is on every Debian.)
  execFileSync('perl', ['-MSocket', '-e', 'socket(S, PF_UNIX, SOCK_STREAM, 0) or die; bind(S, pack_sockaddr_un($ARGV[0])) or die', path]);
  try {
    assert.ok(existsSync(path));
    const r = await platform.listSessions();
    assert.ok(r.ok);
    assert.equal(
      r.value.find((x) => x.stationName === `:${n}`),
      undefined,
    );
    assert.ok(
      r.value.some((x) => x.stationName === xs.displays[0]!.name),
      'live displays are still listed',
    );
  } finally {
    unlinkSync(path);
  }
});

test('a new display makes watchSessions fire and the list grow', async () => {
  let fired = 0;
  let wake: () => void = () => {};
  const changed = new Promise<void>((r) => {
    wake = r;
  });
  const unsubscribe = platform.watchSessions!(() => {
    fired++;
    wake();
  });
  try {
    const third = await startUserDisplays(['gc-carol']);
    stops.push(() => third.stop());
    await changed;
    assert.ok(fired >= 1);
    const list = await sessionsOn([...xs.displays, ...third.displays]);
    assert.equal(list.length, 3);
    assert.equal(list.find((s) => s.stationName === third.displays[0]!.name)?.userName, 'gc-carol');
  } finally {
    unsubscribe();
  }
});

test('utmp logins: terminal sessions listed apart, display logins enrich or linger as disconnected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-utmp-'));
  const utmpPath = join(dir, 'utmp');
  const bob = xs.displays[1]!;
  const t = 1_700_000_000_000;
  let gone = 58_000;
  while (existsSync(`/tmp/.X11-unix/X${gone}`)) gone++;
  writeFileSync(
    utmpPath,
    Buffer.concat([
      encodeUtmp({ pid: process.pid, line: 'pts/9', user: 'gc-alice', host: '198.51.100.7', timeMs: t }),
      encodeUtmp({ pid: process.pid, line: bob.name, user: 'gc-bob', host: bob.name, timeMs: t + 1000 }),
      encodeUtmp({ pid: process.pid, line: `:${gone}`, user: 'gc-alice', host: '', timeMs: t + 2000 }),
      encodeUtmp({ pid: 2_147_000_000, line: 'pts/8', user: 'gc-stale', host: 'x', timeMs: t }),
      encodeUtmp({ type: UtType.DEAD_PROCESS, pid: process.pid, line: 'pts/7', user: '', timeMs: t }),
    ]),
  );
  try {
    const p = createLinuxPlatform({ openDesktop: async () => ok({} as SessionDesktop), utmpPath });
    const r = await p.listSessions();
    assert.ok(r.ok);
    const term = r.value.find((s) => s.stationName === 'pts/9');
    assert.deepEqual(term, {
      sessionId: TERMINAL_ID_BASE + process.pid,
      userName: 'gc-alice',
      state: guruconnect.SessionState.SESSION_ACTIVE,
      type: guruconnect.WindowsSessionType.SESSION_TERMINAL,
      domain: '',
      stationName: 'pts/9',
      clientName: '',
      clientAddress: '198.51.100.7',
      logonTimeMs: t,
      idleSecs: 0,
      locked: false,
      capturable: false,
    });
    assert.equal(r.value.find((s) => s.stationName === bob.name)?.logonTimeMs, t + 1000);
    const lingering = r.value.find((s) => s.stationName === `:${gone}`);
    assert.equal(lingering?.sessionId, gone + 1);
    assert.equal(lingering?.state, guruconnect.SessionState.SESSION_DISCONNECTED);
    assert.equal(lingering?.capturable, false);
    assert.ok(!r.value.some((s) => s.userName === 'gc-stale' || s.stationName === 'pts/7'));
    const o = await p.openDesktop(TERMINAL_ID_BASE + process.pid);
    assert.equal(!o.ok && o.error.code, ErrorCode.SESSION_NOT_CAPTURABLE);
    const run = await runCommand(
      p,
      { commandId: 'x', commandText: 'id -un; echo "[$DISPLAY]"', shell: guruconnect.Shell.SHELL_DEFAULT, timeoutMs: 20_000, capBytes: 0, asSessionId: TERMINAL_ID_BASE + process.pid },
      () => {},
      new AbortController().signal,
    );
    assert.ok(run.ok);
    assert.equal(run.value.stdout, 'gc-alice\n[]\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
