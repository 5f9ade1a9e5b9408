/** Idle time over the X wire protocol on a real Xvfb; a display that dies mid-query is just 0. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openX11Desktop } from '../../agent/platform/linux/x11/desktop.js';
import { xIdleSecs } from '../../agent/platform/linux/x-idle.js';
import { type UserDisplay, startUserDisplays } from '../../infra/servers/x-displays.js';
import { eventually } from '../support/api.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Moves the pointer of `d` through XTEST, as the agent injects a technician's input. */
async function touch(d: UserDisplay, x: number, y: number): Promise<void> {
  const desk = await openX11Desktop({ sessionId: 1, display: d.name, uid: d.uid, user: d.user });
  assert.ok(desk.ok, JSON.stringify(!desk.ok && desk.error));
  try {
    assert.ok(desk.value.mouse({ x, y, buttons: 0 }).ok);
  } finally {
    desk.value.close();
  }
}

describe('X idle time (MIT-SCREEN-SAVER over the wire)', () => {
  let x: Awaited<ReturnType<typeof startUserDisplays>>;
  let startedAt: number;
  before(async () => {
    startedAt = Date.now();
    x = await startUserDisplays(['gc-alice']);
  });
  after(async () => x?.stop());

  it('grows while nobody touches the display and resets on input', async () => {
    const d = x.displays[0]!;
    await touch(d, 5, 5);
    await sleep(2100);
    assert.ok((await xIdleSecs(d.name)) >= 2);
    await touch(d, 50, 50);
    assert.equal(await xIdleSecs(d.name), 0);
  });

  it('answers 0 for a display that dies while it is being asked, and the process lives on', async () => {
    const d = x.displays[0]!;
    // A live display idle for a second answers 1 or more: a dead one's 0 cannot pass for it.
    const idle = await eventually(
      async () => {
        const s = await xIdleSecs(d.name);
        return s >= 1 ? s : undefined;
      },
      'the display idle for a second',
      10_000,
    );
    assert.ok(idle >= 1);

    let exitedAt: number | undefined;
    d.child.proc.once('exit', () => {
      exitedAt = performance.now();
    });
    const asked: { at: number; answer: Promise<number> }[] = [];
    const kill = setTimeout(() => d.child.proc.kill('SIGKILL'), 60);
    // Ask every 5 ms until five questions went to the dead display (it dies while some are in flight).
    while (exitedAt === undefined || asked.filter((q) => q.at > exitedAt!).length < 5) {
      asked.push({ at: performance.now(), answer: xIdleSecs(d.name) });
      await sleep(5);
      assert.ok(asked.length < 5000, 'the display never died');
    }
    clearTimeout(kill);
    // Never a rejection: Promise.all would throw.
    const answers = await Promise.all(asked.map((q) => q.answer));
    const upTo = Math.ceil((Date.now() - startedAt) / 1000);
    for (const [i, a] of answers.entries()) {
      assert.ok(Number.isInteger(a) && (a === 0 || (a >= 1 && a <= upTo)), `answer ${i} is 0 or the idle time (at most ${upTo} s): ${a}`);
    }
    const afterDeath = answers.filter((_, i) => asked[i]!.at > exitedAt!);
    assert.deepEqual(
      afterDeath,
      afterDeath.map(() => 0),
      'a dead display answers 0',
    );
    assert.equal(await xIdleSecs(d.name), 0);
    assert.equal(await xIdleSecs(':59999'), 0, 'no such display');
  });
});
