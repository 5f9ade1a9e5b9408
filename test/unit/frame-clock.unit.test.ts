import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextSlot } from '../../agent/frames/frame-clock.js';

/** 25 fps: a whole number of ms, so the slot arithmetic below is exact. */
const I = 40;

test('work done before the next slot waits for it: the slot is on the grid, not a delay after the work', () => {
  assert.deepEqual(nextSlot(100 + I, 100 + 20, I), { at: 100 + I, skipped: 0 });
  // Exactly on the slot: start it, nothing skipped.
  assert.deepEqual(nextSlot(100 + I, 100 + I, I), { at: 100 + I, skipped: 0 });
});

test('work that ran a little past the next slot starts that slot at once, late, instead of dropping it', () => {
  // The rule this replaced dropped the slot here and waited for the one after (a frame lost per overrun).
  const due = 100 + I;
  const slot = nextSlot(due, due + 1, I);
  assert.deepEqual(slot, { at: due, skipped: 0 });
  // Just under a whole interval late: still this slot.
  assert.deepEqual(nextSlot(due, due + I - 0.01, I), { at: due, skipped: 0 });
});

test('slots that passed entirely are dropped, not caught up: only the latest slot that has come is taken', () => {
  const due = 1000;
  assert.deepEqual(nextSlot(due, due + I, I), { at: due + I, skipped: 1 });
  assert.deepEqual(nextSlot(due, due + 2.5 * I, I), { at: due + 2 * I, skipped: 2 });
  // Whatever the overrun, the slot taken has come (start at once) and the next one has not.
  for (const late of [0.5, 1, 3.2, 10, 99.9]) {
    const now = due + late * I;
    const s = nextSlot(due, now, I);
    assert.ok(s.at <= now && s.at + I > now, `late ${late}: at ${s.at}, now ${now}`);
    assert.equal(s.skipped, Math.floor(late));
  }
});

/** Runs a loop on nextSlot whose frames take `works[i % n]` intervals; the times the frames start. */
function simulate(works: number[], frames: number) {
  let slot = 0;
  let free = 0;
  let skipped = 0;
  const starts: number[] = [];
  for (let i = 0; i < frames; i++) {
    // A frame starts at its slot, or when the previous one's work ends if that is later.
    const started = Math.max(slot, free);
    starts.push(started);
    free = started + works[i % works.length]! * I;
    const s = nextSlot(slot + I, free, I);
    skipped += s.skipped;
    // Every slot is a whole number of intervals from the start: the grid does not drift.
    assert.ok(Math.abs(s.at / I - Math.round(s.at / I)) < 1e-6, `slot ${s.at} is off the grid`);
    slot = s.at;
  }
  // The slot of the frame after the last: every slot before it was worked or dropped.
  const slots = Math.round(slot / I);
  assert.equal(frames + skipped, slots);
  return { skipped, slots, starts };
}

test('work under the interval on average loses no frame, though half the frames overrun (a busy machine)', () => {
  // 0.6, 1.1, 0.2, 1.9 intervals by turns: mean 0.95. Dropping a slot per overrun lost half the rate here.
  const r = simulate([0.6, 1.1, 0.2, 1.9], 300);
  assert.equal(r.skipped, 0);
  // 300 frames in 300 slots: the rate asked for.
  assert.equal(r.slots, 300);
  // Never two frames at once, never a frame before its slot.
  for (let i = 1; i < r.starts.length; i++) assert.ok(r.starts[i]! >= r.starts[i - 1]! + 0.2 * I - 1e-9);
});

test('work over the interval runs at the rate the work allows and drops the rest, never queueing', () => {
  // 1.5 intervals a frame: two frames every three slots, one slot dropped in three.
  const r = simulate([1.5], 300);
  assert.equal(r.skipped, 150);
  assert.equal(r.slots, 450);
  // Back to back: each frame starts when the last one ended, no later.
  for (let i = 1; i < r.starts.length; i++) assert.ok(Math.abs(r.starts[i]! - r.starts[i - 1]! - 1.5 * I) < 1e-6);
});

test('odd inputs: a zero, negative or NaN interval is 1 ms; a clock far ahead skips many slots but still one frame', () => {
  assert.deepEqual(nextSlot(10, 12.5, 0), { at: 12, skipped: 2 });
  assert.deepEqual(nextSlot(10, 12.5, -1), { at: 12, skipped: 2 });
  assert.deepEqual(nextSlot(10, 12.5, Number.NaN), { at: 12, skipped: 2 });
  // NaN or earlier clocks: wait for the slot as due.
  assert.deepEqual(nextSlot(10, Number.NaN, I), { at: 10, skipped: 0 });
  assert.deepEqual(nextSlot(10, -1, I), { at: 10, skipped: 0 });
  // A machine that slept for a day: the slots of that day are dropped, the next frame starts at once.
  const day = 86_400_000;
  const s = nextSlot(0, day, I);
  assert.equal(s.skipped, Math.floor(day / I));
  assert.ok(s.at <= day && s.at + I > day);
  const far = nextSlot(0, 2 ** 53 - 1, 2 ** 31 - 1);
  assert.ok(far.at <= 2 ** 53 - 1 && far.skipped > 0);
});
