/** `npm start -- --demo`: two desktops of two demo users that the local agent lists and can capture. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLinuxPlatform } from '../../agent/platform/linux/index.js';
import { openX11Desktop } from '../../agent/platform/linux/x11/desktop.js';
import { startDemoDesktops } from '../../infra/launcher/demo-desktops.js';
import { ErrorCode, err } from '../../proto/errors.js';

test('demo desktops are two capturable sessions of gc-demo-alice and gc-demo-bob, drawn and gone after stop', async () => {
  const demo = await startDemoDesktops();
  // Only the session list is used here; capture is opened directly below.
  const platform = createLinuxPlatform({ openDesktop: async () => err(ErrorCode.NOT_AVAILABLE, 'not used') });
  try {
    const listed = await platform.listSessions();
    assert.ok(listed.ok);
    const mine = listed.value.filter((s) => demo.names.includes(s.stationName ?? ''));
    assert.deepEqual(mine.map((s) => [s.userName, s.capturable]).sort(), [
      ['gc-demo-alice', true],
      ['gc-demo-bob', true],
    ]);
    const alice = mine.find((s) => s.userName === 'gc-demo-alice')!;
    const desk = await openX11Desktop({ sessionId: alice.sessionId ?? 0, display: alice.stationName ?? '', uid: 0, user: 'gc-demo-alice' });
    assert.ok(desk.ok);
    const g = await desk.value.grab();
    desk.value.close();
    assert.ok(g.ok);
    // The label is white text on the demo blue at (40, 60): some pixels of that row are white.
    const row = g.value.data.subarray(55 * g.value.stride, 56 * g.value.stride);
    let white = 0;
    for (let x = 40; x < 400; x++) if (row[x * 4] === 255 && row[x * 4 + 1] === 255 && row[x * 4 + 2] === 255) white++;
    assert.ok(white > 5, `the label is drawn (${white} white pixels)`);
  } finally {
    await demo.stop();
  }
  const after = await platform.listSessions();
  assert.ok(after.ok && !after.value.some((s) => demo.names.includes(s.stationName ?? '')), 'stop removes both desktops');
});
