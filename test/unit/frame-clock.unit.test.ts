/** The capture loop's frame clock (agent/frames/frame-clock.ts): a fixed grid, slight overruns started late, large ones dropped after heavy frames and caught up after light ones. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LATE_START_GRACE, nextSlot } from '../../agent/frames/frame-clock.js';

/** 25 fps: a whole number of ms, so the slot arithmetic below is exact. */
const I = 40;

test('work done before the next slot waits for it: the slot is on the grid, not a delay after the work', () => {
  assert.deepEqual(nextSlot(100 + I, 100 + 20, I), { at: 100 + I, skipped: 0 });
  assert.deepEqual(nextSlot(100 + I, 100 + I, I), { at: 100 + I, skipped: 0 });
});

test('work that ran slightly past the next slot (jitter) starts that slot at once, late, instead of dropping it', () => {
  const due = 100 + I;
  assert.deepEqual(nextSlot(due, due + 1, I), { at: due, skipped: 0 });
  assert.deepEqual(nextSlot(due, due + LATE_START_GRACE * I - 0.01, I), { at: due, skipped: 0 });
});

test('work that overran by more drops every slot it overran, never catching up', () => {
  const due = 1000;
  assert.deepEqual(nextSlot(due, due + LATE_START_GRACE * I, I), { at: due + I, skipped: 1 });
  assert.deepEqual(nextSlot(due, due + I, I), { at: due + I, skipped: 1 });
  assert.deepEqual(nextSlot(due, due + 2.5 * I, I), { at: due + 3 * I, skipped: 3 });
  for (const late of [0.3, 0.99, 1, 3.2, 10, 99.9]) {
    const now = due + late * I;
    const s = nextSlot(due, now, I);
    assert.ok(s.at >= now && s.at - now <= I, `late ${late}: the next frame waits for a slot to come, at most one interval`);
    assert.equal(s.skipped, Math.ceil(late));
  }
});

test('after a light frame an overrun catches up: the latest slot that has come starts at once, only the slots before it are dropped', () => {
  const due = 1000;
  assert.deepEqual(nextSlot(due, due + 1, I, true), { at: due, skipped: 0 });
  assert.deepEqual(nextSlot(due, due + 0.5 * I, I, true), { at: due, skipped: 0 }, 'within one interval: no slot lost');
  assert.deepEqual(nextSlot(due, due + 0.99 * I, I, true), { at: due, skipped: 0 });
  assert.deepEqual(nextSlot(due, due + I, I, true), { at: due + I, skipped: 1 });
  assert.deepEqual(nextSlot(due, due + 2.5 * I, I, true), { at: due + 2 * I, skipped: 2 });
  for (const late of [0, 0.3, 0.99, 1, 3.2, 10, 99.9]) {
    const now = due + late * I;
    const s = nextSlot(due, now, I, true);
    assert.ok(s.at <= now && now - s.at < I, `late ${late}: starts at once, for a slot under one interval old (${JSON.stringify(s)})`);
    assert.equal(s.skipped, Math.floor(late));
    assert.ok(s.skipped <= nextSlot(due, now, I, false).skipped, 'never more dropped than after a heavy frame');
  }
});

test('hostile and degenerate inputs give a slot, never NaN or a slot in the past beyond the grace', () => {
  for (const interval of [0, -1, Number.NaN, 2 ** 31 - 1, 2 ** 32 - 1]) {
    for (const now of [0, 1, 1e6, 2 ** 53 - 1]) {
      for (const catchUp of [false, true]) {
        const s = nextSlot(0, now, interval, catchUp);
        assert.ok(Number.isFinite(s.at) && Number.isInteger(s.skipped) && s.skipped >= 0, `${interval} ${now} ${catchUp}: ${JSON.stringify(s)}`);
      }
    }
  }
});

/** Runs a loop on nextSlot whose frames take `works[i % n]` intervals (light ones catch up); how many slots it dropped. */
function simulate(works: number[], frames: number, light: (i: number) => boolean = () => false): number {
  let slot = 0;
  let free = 0;
  let skipped = 0;
  for (let i = 0; i < frames; i++) {
    const started = Math.max(slot, free);
    free = started + works[i % works.length]! * I;
    const s = nextSlot(slot + I, free, I, light(i));
    skipped += s.skipped;
    assert.ok(Math.abs(s.at / I - Math.round(s.at / I)) < 1e-6, `slot ${s.at} is off the grid`);
    slot = s.at;
  }
  return skipped;
}

test('a busy machine whose frames overrun by a little now and then loses no frame', () => {
  // 0.9, 1.05, 0.8, 1.1 intervals by turns: dropping a slot per overrun lost every other frame's slot here.
  assert.equal(simulate([0.9, 1.05, 0.8, 1.1], 400), 0);
});

test('heavy frames (a keyframe, a refinement) still cost the slots they overran: nothing queues behind them', () => {
  // One frame in ten takes 2.5 intervals: it drops its slots, the rest keep the grid.
  const skipped = simulate([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2.5], 400);
  assert.equal(skipped, 40 * 2);
});

test('light frames stalled by the machine now and then lose only the slots the stall covered whole', () => {
  // One frame in ten stalls 2.5 intervals (a starved grab): after a light one the next starts at once, one slot lost, not two.
  const works = [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 2.5];
  assert.equal(
    simulate(works, 400, () => true),
    40 * 1,
  );
  assert.equal(simulate(works, 400), 40 * 2, 'the same stalls after heavy frames drop every slot they overran');
  // Stalls of 1.6 intervals: none lost after light frames (each lost one before).
  assert.equal(
    simulate([0.2, 0.2, 0.2, 1.6], 400, () => true),
    0,
  );
  assert.equal(simulate([0.2, 0.2, 0.2, 1.6], 400), 100);
});
