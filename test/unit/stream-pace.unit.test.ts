import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HOT_SHARE, type PaceWindow, RATE_SHARE, paceController } from '../../services/gateway/ws/stream-pace.js';

const KiB = 1024;
/** One second's window: `frames` of `frameKiB` offered, the link delivering `deliveredKiB` a second. */
const win = (frames: number, frameKiB: number, deliveredKiB: number | undefined, behind = false): PaceWindow => ({
  behind,
  offered: { frames, bytes: frames * frameKiB * KiB },
  deliveredPerSec: deliveredKiB === undefined ? undefined : deliveredKiB * KiB,
  windowMs: 1000,
});

test('saturated with frames that still fit at a smooth rate: the frame rate is sized to a share of the delivery rate, in one window', () => {
  const p = paceController({ fps: 30, quality: 70 });
  // 30 frames of 10 KiB offered, 150 KiB/s delivered, frames dropped: 0.6 x 150 / 10 = 9 fps.
  assert.deepEqual(p.observe(win(30, 10, 150, true)), { fps: 9, quality: 70 });
  assert.equal(p.capacity, 150 * KiB);
});

test('more offered than delivered is saturation even before the relay drops anything', () => {
  const p = paceController({ fps: 30, quality: 70 });
  assert.deepEqual(p.observe(win(30, 10, 200)), { fps: 12, quality: 70 });
  const q = paceController({ fps: 30, quality: 70 });
  assert.equal(q.observe(win(30, 10, 250)), undefined, '300 offered against 250 delivered is within the margin');
});

test('frames too large for a smooth rate: quality comes down first, in proportion, and the rate follows from it', () => {
  const p = paceController({ fps: 30, quality: 70 });
  // 100 KiB frames on a 600 KiB/s link fit 3.6 fps: quality 70 x 3.6 / 8 = 32, and 3.6 x 70 / 32 = 7 fps.
  assert.deepEqual(p.observe(win(30, 100, 600, true)), { fps: 7, quality: 32 });
});

test('never below the floor, however small the link; a start below the floor stays as it is', () => {
  const p = paceController({ fps: 30, quality: 70 });
  assert.deepEqual(p.observe(win(30, 500, 10, true)), { fps: 2, quality: 20 });
  const low = paceController({ fps: 1, quality: 10 });
  assert.equal(low.observe(win(1, 500, 10, true)), undefined);
  assert.deepEqual(low.current, { fps: 1, quality: 10 });
});

test('the window after a cut is not judged (its frames were sent at the old pace); the one after is', () => {
  const p = paceController({ fps: 30, quality: 70 });
  assert.deepEqual(p.observe(win(30, 10, 150, true)), { fps: 9, quality: 70 });
  assert.equal(p.observe(win(30, 10, 150, true)), undefined, 'still the old pace in flight');
  // The capacity decays towards a lower rate: max(60, 0.8 x 150) = 120 KiB/s; 0.6 x 120 / 20 = 3.6 fps,
  // under 8: quality 70 x 3.6 / 8 = 32, and 3.6 x 70 / 32 = 7 fps.
  assert.deepEqual(p.observe(win(9, 20, 60, true)), { fps: 7, quality: 32 });
  assert.equal(p.capacity, 120 * KiB);
});

test('running hot (most of the capacity offered, nothing dropped yet) brings the pace down to the share, as content whose bytes do not shrink with the rate gets there', () => {
  const p = paceController({ fps: 30, quality: 70 });
  p.observe(win(30, 10, 200, true)); // capacity 200 KiB/s: 12 fps
  p.observe(win(12, 10, 200)); // calm
  // Frames grew to 15 KiB at the same rate: 180 KiB/s, over 0.8 x 200, still delivered (no drop): 0.6 x 200 / 15 = 8 fps.
  assert.ok(12 * 15 > HOT_SHARE * 200);
  assert.deepEqual(p.observe(win(12, 15, 200)), { fps: 8, quality: 70 });
  const q = paceController({ fps: 30, quality: 70 });
  q.observe(win(30, 10, 200, true));
  q.observe(win(12, 10, 200));
  assert.equal(q.observe(win(12, 13, 200)), undefined, '156 KiB/s is under 0.8 x 200: calm');
});

test('a standing queue is drained: the pace is sized to the share of the capacity less what waits', () => {
  const p = paceController({ fps: 30, quality: 70 });
  // 600 KiB/s delivered, 200 KiB waiting: (0.6 x 600 - 200) / 10 = 16 fps, not the 36 the share alone would allow.
  assert.deepEqual(p.observe({ ...win(30, 10, 600, true), queuedBytes: 200 * KiB }), { fps: 16, quality: 70 });
  // A queue larger than the share leaves a quarter of the capacity: 0.25 x 600 / 10 = 15 fps.
  const q = paceController({ fps: 30, quality: 70 });
  assert.deepEqual(q.observe({ ...win(30, 10, 600, true), queuedBytes: 10_000 * KiB }), { fps: 15, quality: 70 });
});

test('a browser that cannot paint (behind on a fast link that never limited): half the frames and lower quality, as without acknowledgements', () => {
  const p = paceController({ fps: 30, quality: 70 });
  assert.deepEqual(p.observe(win(30, 10, 100_000, true)), { fps: 15, quality: 55 });
  assert.equal(p.capacity, undefined, 'a link that delivers all that is offered has no capacity measured');
});

test('a small stream dropped once (its acks measure the stream, not the link) is not sized to its own rate: no capacity, the blind step, and back to where it was after two calm windows', () => {
  const p = paceController({ fps: 30, quality: 70 });
  // 20 deltas of 4 KiB, the link delivering 90 KiB/s of them (app-limited), one drop.
  assert.deepEqual(p.observe(win(20, 4, 90, true)), { fps: 15, quality: 55 });
  assert.equal(p.capacity, undefined);
  assert.equal(p.observe(win(15, 4, 60)), undefined);
  assert.deepEqual(p.observe(win(15, 4, 60)), { fps: 30, quality: 70 }, 'one drop says little: the pace it cut from, in one step');
});

test('a drop soon after such a return proves it wrong: half again, then the slow climb, and no return in one step until a long calm', () => {
  const p = paceController({ fps: 30, quality: 70 });
  p.observe(win(20, 4, 90, true)); // 15, q55
  p.observe(win(15, 4, 60));
  assert.deepEqual(p.observe(win(15, 4, 60)), { fps: 30, quality: 70 });
  for (let i = 0; i < 3; i++) assert.equal(p.observe(win(30, 4, 120)), undefined);
  assert.deepEqual(p.observe(win(30, 4, 120, true)), { fps: 15, quality: 55 }, 'within the probation: the returned pace was too much');
  const steps: (object | undefined)[] = [];
  for (let i = 0; i < 10; i++) steps.push(p.observe(win(15, 4, 60)));
  assert.deepEqual(steps, [undefined, undefined, undefined, undefined, { fps: 20, quality: 60 }, undefined, undefined, undefined, undefined, { fps: 25, quality: 65 }]);
  // A drop while returns are blocked: the slow climb again.
  assert.deepEqual(p.observe(win(25, 4, 100, true)), { fps: 12, quality: 50 });
  for (let i = 0; i < 4; i++) assert.equal(p.observe(win(12, 4, 50)), undefined);
  assert.deepEqual(p.observe(win(12, 4, 50)), { fps: 17, quality: 55 });
  // The block runs out thirty calm windows after the failed return (10 + 5 above, 15 of these): one drop is returned from again.
  for (let i = 0; i < 30; i++) p.observe(win(17, 4, 70));
  const before = p.current;
  p.observe(win(before.fps, 4, 100, true));
  p.observe(win(15, 4, 60));
  assert.deepEqual(p.observe(win(15, 4, 60)), before);
});

test('a drop after the probation is a new single drop: returned from in one step again', () => {
  const p = paceController({ fps: 30, quality: 70 });
  p.observe(win(20, 4, 90, true));
  p.observe(win(15, 4, 60));
  p.observe(win(15, 4, 60)); // back to 30
  for (let i = 0; i < 10; i++) p.observe(win(30, 4, 120));
  assert.deepEqual(p.observe(win(30, 4, 120, true)), { fps: 15, quality: 55 });
  p.observe(win(15, 4, 60));
  assert.deepEqual(p.observe(win(15, 4, 60)), { fps: 30, quality: 70 });
});

test('two drops in a row before any return: a page that keeps falling behind climbs back slowly', () => {
  const p = paceController({ fps: 30, quality: 70 });
  assert.deepEqual(p.observe(win(20, 4, 90, true)), { fps: 15, quality: 55 });
  assert.deepEqual(p.observe(win(15, 4, 60, true)), { fps: 7, quality: 40 });
  for (let i = 0; i < 4; i++) assert.equal(p.observe(win(7, 4, 30)), undefined);
  assert.deepEqual(p.observe(win(7, 4, 30)), { fps: 12, quality: 45 });
});

test('a cut sized to the link (it limits) forgets the pace before an earlier blind cut: no return past what the link carries', () => {
  const p = paceController({ fps: 30, quality: 70 });
  p.observe(win(20, 4, 90, true)); // blind: 15, q55, would return to 30
  // Then the link limits: 15 frames of 10 KiB offered, 100 KiB/s delivered: 0.6 x 100 / 10 = 6 fps, under 8: quality first.
  const cut = p.observe(win(15, 10, 100, true));
  assert.ok(cut !== undefined && cut.fps < 15, JSON.stringify(cut));
  for (let i = 0; i < 4; i++) {
    const next = p.observe(win(cut.fps, 2, 100));
    assert.ok(next === undefined || next.fps < 30, `calm step ${i}: ${JSON.stringify(next)}`);
  }
});

test('calm: one step up per two calm windows, quality first at a smooth rate, never above the start', () => {
  const p = paceController({ fps: 30, quality: 70 });
  p.observe(win(30, 100, 600, true)); // 7 fps, q32
  p.observe(win(7, 40, 600)); // calm 1 (also clears the settling window)
  assert.deepEqual(p.observe(win(7, 40, 600)), { fps: 9, quality: 32 }, 'under 8 fps: the rate goes up first');
  p.observe(win(9, 20, 600));
  assert.deepEqual(p.observe(win(9, 20, 600)), { fps: 9, quality: 37 }, 'at a smooth rate: quality');
  for (let i = 0; i < 200; i++) p.observe(win(1, 1, 600));
  assert.deepEqual(p.current, { fps: 30, quality: 70 });
});

test('calm steps never offer more than the share of the capacity last measured saturated', () => {
  const p = paceController({ fps: 30, quality: 70 });
  p.observe(win(30, 10, 200, true)); // 0.6 x 200 / 10 = 12 fps
  assert.deepEqual(p.current, { fps: 12, quality: 70 });
  // 12 frames of 10 KiB = 120 KiB/s; a step to 15 fps would offer 150, over 0.6 x 200 (x1.05 creep) = 126.
  p.observe(win(12, 10, 200));
  assert.equal(p.observe(win(12, 10, 200)), undefined);
  assert.ok(RATE_SHARE * p.capacity! < 150 * KiB);
});

test('a page that does not acknowledge (no delivery rate): half the rate and lower quality when behind, back after two calm windows, then one step per five', () => {
  const p = paceController({ fps: 30, quality: 70 });
  assert.deepEqual(p.observe(win(30, 10, undefined, true)), { fps: 15, quality: 55 });
  assert.equal(p.observe(win(15, 10, undefined)), undefined);
  assert.deepEqual(p.observe(win(15, 10, undefined)), { fps: 30, quality: 70 });
  assert.deepEqual(p.observe(win(30, 10, undefined, true)), { fps: 15, quality: 55 }, 'within the probation');
  for (let i = 0; i < 4; i++) assert.equal(p.observe(win(15, 10, undefined)), undefined);
  assert.deepEqual(p.observe(win(15, 10, undefined)), { fps: 20, quality: 60 });
});

test('hostile windows: nothing offered, nothing delivered, zero-length, huge numbers: a valid pace within bounds, no NaN', () => {
  const cases: PaceWindow[] = [
    { behind: true, offered: { frames: 0, bytes: 0 }, deliveredPerSec: 0, windowMs: 0 },
    { behind: true, offered: { frames: 0, bytes: 2 ** 53 - 1 }, deliveredPerSec: 1, windowMs: -1 },
    { behind: false, offered: { frames: 2 ** 31 - 1, bytes: 2 ** 63 - 1 }, deliveredPerSec: 2 ** 32 - 1, windowMs: 1 },
    { behind: true, offered: { frames: 1, bytes: 2 ** 63 - 1 }, deliveredPerSec: 2 ** 63 - 1, windowMs: 2 ** 31 - 1 },
    { behind: true, offered: { frames: 30, bytes: 300_000 }, deliveredPerSec: Number.NaN, queuedBytes: Number.NaN, windowMs: 1000 },
    { behind: true, offered: { frames: 30, bytes: 300_000 }, deliveredPerSec: 100_000, queuedBytes: Number.NaN, windowMs: 1000 },
    { behind: true, offered: { frames: 30, bytes: 300_000 }, deliveredPerSec: 100_000, queuedBytes: -1, windowMs: 1000 },
    { behind: true, offered: { frames: 30, bytes: 300_000 }, deliveredPerSec: -1, queuedBytes: 2 ** 63 - 1, windowMs: 1000 },
    { behind: false, offered: { frames: -1, bytes: -1 }, deliveredPerSec: Number.POSITIVE_INFINITY, windowMs: 1000 },
  ];
  for (const w of cases) {
    const p = paceController({ fps: 30, quality: 70 });
    p.observe(w);
    const c = p.current;
    assert.ok(Number.isInteger(c.fps) && c.fps >= 2 && c.fps <= 30, `fps ${c.fps} for ${JSON.stringify(w)}`);
    assert.ok(Number.isInteger(c.quality) && c.quality >= 20 && c.quality <= 70, `quality ${c.quality} for ${JSON.stringify(w)}`);
  }
});
