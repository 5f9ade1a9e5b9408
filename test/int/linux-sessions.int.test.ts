import assert from 'node:assert/strict';
import { existsSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import { ErrorCode, ok } from '../../proto/errors.js';
import { type DesktopTarget, createLinuxPlatform } from '../../agent/platform/linux/index.js';
import type { SessionDesktop, SessionInfo } from '../../agent/platform/port.js';
import { type UserDisplay, startUserDisplays } from '../support/x-displays.js';

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
