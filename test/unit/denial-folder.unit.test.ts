/** Denial folding: the first denial of a window at once, the rest as one counted event when it closes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditInput } from '../../services/gateway/bus/audit-publisher.js';
import { type FoldClock, createDenialFolder, isFoldedRefusal } from '../../services/gateway/bus/denial-folder.js';

/** A clock whose time moves only when the test says so. */
function fakeClock(start = 1_000_000): FoldClock & { advance(ms: number): void } {
  let t = start;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 0;
  return {
    now: () => t,
    setTimeout(fn, ms) {
      const id = ++next;
      timers.push({ at: t + ms, fn, id });
      return id;
    },
    clearTimeout(h) {
      timers = timers.filter((x) => x.id !== h);
    },
    advance(ms) {
      t += ms;
      for (;;) {
        const due = timers.filter((x) => x.at <= t).sort((a, b) => a.at - b.at)[0];
        if (!due) return;
        timers = timers.filter((x) => x !== due);
        due.fn();
      }
    },
  };
}

const vic = { userId: 'u-vic', userName: 'vic', role: 'viewer' };
const deny = (over: Partial<AuditInput> = {}, details: Record<string, unknown> = {}): AuditInput => ({
  eventType: 'access_denied',
  actor: vic,
  agentId: 'pc-7',
  details: { action: 'switch-session', reason: 'role viewer may not switch sessions', agent_id: 'pc-7', ...details },
  ...over,
});

function setup(windowMs = 10_000, maxOpenWindows?: number) {
  const clock = fakeClock();
  const published: AuditInput[] = [];
  const folder = createDenialFolder(
    async (ev) => {
      published.push(ev);
    },
    { windowMs, clock, maxOpenWindows },
  );
  return { clock, published, folder };
}

describe('denial folder', () => {
  it('turns 200 denials in 5 s into two events whose counts add up to 200', async () => {
    const { clock, published, folder } = setup();
    for (let i = 0; i < 200; i++) {
      await folder.deny(deny());
      clock.advance(25);
    }
    assert.equal(published.length, 1, 'only the first is published during the window');
    assert.equal(published[0]!.details!.count, 1);
    clock.advance(5_000);
    assert.equal(published.length, 2);
    assert.equal(published[1]!.details!.count, 199);
    assert.equal(published[1]!.details!.action, 'switch-session');
    assert.equal(published[1]!.details!.window_ms, 10_000);
    assert.equal(Object.keys(published[1]!.details!)[0], 'count', 'count leads the details (the audit page shows the first entries)');
    clock.advance(60_000);
    assert.equal(published.length, 2, 'nothing more without new denials');
  });

  it('keeps windows apart per actor, action, reason and machine', async () => {
    const { clock, published, folder } = setup();
    await folder.deny(deny());
    await folder.deny(deny({ actor: { ...vic, userId: 'u-other', userName: 'other' } }));
    await folder.deny(deny({ agentId: 'pc-8' }, { agent_id: 'pc-8' }));
    await folder.deny(deny({}, { action: 'backstage.enter' }));
    await folder.deny(deny({}, { reason: 'another reason' }));
    assert.equal(published.length, 5);
    assert.ok(published.every((e) => e.details!.count === 1));
    await folder.deny(deny());
    clock.advance(10_000);
    assert.deepEqual(
      published.slice(5).map((e) => e.details!.count),
      [1],
    );
  });

  it('publishes a lone denial once, and the next window starts with an immediate event', async () => {
    const { clock, published, folder } = setup();
    await folder.deny(deny());
    clock.advance(10_000);
    assert.equal(published.length, 1);
    await folder.deny(deny());
    assert.equal(published.length, 2);
    assert.equal(published[1]!.details!.count, 1);
  });

  it('flush publishes what a window still holds (shutdown) and closes it', async () => {
    const { clock, published, folder } = setup();
    for (let i = 0; i < 5; i++) await folder.deny(deny());
    await folder.flush();
    assert.deepEqual(
      published.map((e) => e.details!.count),
      [1, 4],
    );
    clock.advance(20_000);
    assert.equal(published.length, 2, 'the closed window does not publish again');
  });

  it('a caller cannot set the count through the details', async () => {
    const { published, folder } = setup();
    await folder.deny(deny({}, { count: 1_000_000 }));
    assert.equal(published[0]!.details!.count, 1);
  });

  it('with too many open windows publishes unfolded rather than holding more', async () => {
    const { published, folder } = setup(10_000, 2);
    for (const a of ['a', 'b', 'c', 'c']) await folder.deny(deny({ agentId: a }, { agent_id: a }));
    assert.equal(published.length, 4);
  });

  it('folds logins refused for unusable input per source address, and never ordinary failed logins', async () => {
    const refused = (ip: string): AuditInput => ({ eventType: 'login_failed', details: { name: 'x\ufffd', ip, reason: 'invalid_input' } });
    assert.equal(isFoldedRefusal(refused('10.0.0.1')), true);
    assert.equal(isFoldedRefusal({ eventType: 'login_failed', details: { name: 'alice', ip: '10.0.0.1', reason: 'bad_password' } }), false);
    assert.equal(isFoldedRefusal(deny()), true);
    const { clock, published, folder } = setup();
    for (let i = 0; i < 100; i++) await folder.deny(refused('10.0.0.1'));
    await folder.deny(refused('10.0.0.2'));
    assert.equal(published.length, 2, 'the first refusal from each address at once');
    clock.advance(10_000);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      published.map((e) => [e.details?.ip, e.details?.count]),
      [
        ['10.0.0.1', 1],
        ['10.0.0.2', 1],
        ['10.0.0.1', 99],
      ],
    );
  });
});
