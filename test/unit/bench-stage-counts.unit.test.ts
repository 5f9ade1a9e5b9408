import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PageCounts, type SentFrame, stageCounts, stillSlots } from '../bench/viewer-scenes.js';

const I = 40;
/** Frames on the bus: capture times on a 40 ms grid from 1000 (slot indexes given), seen 5 ms after capture. */
const onBus = (slots: number[], seqs = slots.map((_, i) => i + 1)): SentFrame[] => slots.map((k, i) => ({ at: 1000 + k * I + 5, quality: 70, seq: seqs[i]!, capturedAtMs: 1000 + k * I }));
const page: PageCounts = { received: 0, painted: 0, dropped: 0, paintedFromBefore: 0, paintedAfterEnd: 0 };
/** A run of five slots (25 fps): capture times 1000 .. 1160. */
const FROM = 1000;
const TO = 1180;

test('every slot sent: no slot missed, the page counts passed through', () => {
  const p = { received: 5, painted: 4, dropped: 1, paintedFromBefore: 1, paintedAfterEnd: 2 };
  const c = stageCounts(onBus([0, 1, 2, 3, 4]), FROM, TO, 25, p);
  assert.deepEqual(c, { slots: 5, slotsMissed: 0, sent: 5, seqGaps: 0, received: 5, painted: 4, droppedByBrowser: 1, paintedFromBefore: 1, paintedAfterEnd: 2 });
});

test('slots with no capture are missed; gaps in sequence numbers are counted apart', () => {
  const c = stageCounts(onBus([0, 1, 3], [1, 2, 4]), FROM, TO, 25, page);
  assert.equal(c.slots, 5);
  assert.equal(c.slotsMissed, 2);
  assert.equal(c.sent, 3);
  assert.equal(c.seqGaps, 1);
});

test('a frame started late (off the grid) is still one capture of one slot', () => {
  const frames = onBus([0, 1, 2, 3, 4]);
  frames[2]!.capturedAtMs += 25;
  const c = stageCounts(frames, FROM, TO, 25, page);
  assert.equal(c.slotsMissed, 0);
  assert.equal(c.sent, 5);
});

test('a keyframe split into several messages of one capture is one frame sent, not two', () => {
  const c = stageCounts(onBus([0, 1, 1, 2, 3, 4]), FROM, TO, 25, page);
  assert.equal(c.sent, 5);
  assert.equal(c.slotsMissed, 0);
  assert.equal(c.seqGaps, 0);
});

test('only frames captured within the run count; an empty or inverted run is zero everywhere', () => {
  const c = stageCounts(onBus([-2, -1, 0, 1, 2, 3, 4, 5, 6]), FROM, TO, 25, page);
  assert.equal(c.sent, 5);
  const zero = { slots: 0, slotsMissed: 0, sent: 0, seqGaps: 0, received: 0, painted: 0, droppedByBrowser: 0, paintedFromBefore: 0, paintedAfterEnd: 0 };
  assert.deepEqual(stageCounts([], FROM, FROM, 25, page), zero);
  assert.deepEqual(stageCounts(onBus([0, 1]), TO, FROM, 25, page), zero);
  assert.deepEqual(stageCounts(onBus([0, 1]), FROM, TO, 0, page), { ...zero, sent: 2 });
});

test('sequence numbers out of order or restarted do not count as negative gaps', () => {
  const c = stageCounts(onBus([0, 1, 2, 3], [10, 1, 2, 3]), FROM, TO, 25, page);
  assert.equal(c.seqGaps, 0);
});

test('still slots: a scene drawing faster than the slots has none; a stall of g ms holds about g / interval − 1', () => {
  const every16 = Array.from({ length: 12 }, (_, i) => 1000 + i * 16);
  assert.equal(stillSlots(every16, 1000, 1180, 25), 0);
  // Changes at 1000 and 1160 only: 160 ms still = 4 slots of 40 ms, 3 of them with nothing new.
  assert.equal(stillSlots([1000, 1160], 1000, 1180, 25), 3);
  // No change at all in the run: every slot is still; odd runs and rates give 0.
  assert.equal(stillSlots([], 1000, 1200, 25), 5);
  assert.equal(stillSlots([1000], 1200, 1000, 25), 0);
  assert.equal(stillSlots([1000], 1000, 1200, 0), 0);
  assert.equal(stillSlots([1000], 1000, 1200, Number.NaN), 0);
});

test('still slots are reported only when the scene records its changes', () => {
  assert.equal(stageCounts(onBus([0, 1]), FROM, TO, 25, page).screenStillSlots, undefined);
  assert.equal(stageCounts(onBus([0, 1]), FROM, TO, 25, page, [1000, 1160]).screenStillSlots, 3);
});
