/** Idle time over the X wire protocol on a real Xvfb; a display that dies mid-query is just 0. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { xIdleSecs } from '../../agent/platform/linux/x-idle.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';

describe('X idle time (MIT-SCREEN-SAVER over the wire)', () => {
  let x: Awaited<ReturnType<typeof startUserDisplays>>;
  before(async () => {
    x = await startUserDisplays(['gc-alice']);
  });
  after(async () => x?.stop());

  it('grows while nobody touches the display and resets on input', async () => {
    const d = x.displays[0]!;
    execFileSync('xdotool', ['mousemove', '5', '5'], { env: { ...process.env, DISPLAY: d.name } });
    await new Promise((r) => setTimeout(r, 2100));
    assert.ok((await xIdleSecs(d.name)) >= 2);
    execFileSync('xdotool', ['mousemove', '50', '50'], { env: { ...process.env, DISPLAY: d.name } });
    assert.equal(await xIdleSecs(d.name), 0);
  });

  it('answers 0 for a display that dies while it is being asked, and the process lives on', async () => {
    const d = x.displays[0]!;
    const queries = Array.from({ length: 50 }, (_, i) => new Promise<number>((r) => setTimeout(() => void xIdleSecs(d.name).then(r), i * 5)));
    setTimeout(() => d.child.proc.kill('SIGKILL'), 60);
    const answers = await Promise.all(queries);
    assert.equal(answers.length, 50);
    assert.equal(await xIdleSecs(d.name), 0);
    assert.equal(await xIdleSecs(':59999'), 0, 'no such display');
  });
});
