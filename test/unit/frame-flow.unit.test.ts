import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_FRAMES_IN_FLIGHT, frameFlow } from '../../services/gateway/ws/frame-flow.js';
import { clientMessageSchema } from '../../services/gateway/ws/protocol.js';
import { decide, initialViewerState } from '../../services/gateway/ws/viewer-decider.js';

test('congested when more than the budget waits behind the oldest frame in flight; clear again as the page acknowledges, oldest first', () => {
  const f = frameFlow(100, 150, () => 0);
  f.acked(1); // the page acks: flow control is on (nothing was sent, nothing is settled)
  assert.equal(f.inFlightBytes, 0);
  f.sent(60);
  f.sent(60);
  assert.equal(f.congested, false, '60 bytes wait behind the first frame');
  f.sent(50);
  assert.equal(f.congested, true, '110 bytes wait');
  assert.equal(f.inFlightBytes, 170);
  f.acked(1);
  assert.equal(f.inFlightBytes, 110);
  assert.equal(f.congested, false, '50 bytes wait behind the frame now on the wire');
});

test('one frame in flight never congests, however large (a keyframe must not cost the deltas after it)', () => {
  const f = frameFlow(100, 150, () => 0);
  f.acked(0);
  f.sent(10_000);
  assert.equal(f.congested, false);
  f.sent(60);
  f.sent(60);
  assert.equal(f.congested, true);
  f.acked(1);
  assert.equal(f.congested, false);
});

test('a page that never acknowledges is never judged congested (an older dashboard still gets frames)', () => {
  const f = frameFlow(100, 150, () => 0);
  for (let i = 0; i < 50; i++) f.sent(1000);
  assert.equal(f.congested, false);
  f.acked(1);
  assert.equal(f.congested, true);
});

test('more acks than frames sent settle only what was sent; later frames count again', () => {
  const f = frameFlow(100, 150, () => 0);
  f.sent(80);
  f.acked(2 ** 31 - 1);
  assert.equal(f.inFlightBytes, 0);
  f.sent(150);
  f.sent(150);
  assert.equal(f.inFlightBytes, 300);
  assert.equal(f.congested, true);
});

test('a long stream keeps exact counts across the internal compaction', () => {
  const f = frameFlow(1_000_000, 150, () => 0);
  for (let i = 0; i < 5000; i++) {
    f.sent(i % 7);
    if (i % 2) f.acked(1);
  }
  let rest = 0;
  for (let i = 2500; i < 5000; i++) rest += i % 7;
  assert.equal(f.inFlightBytes, rest);
});

test('the budget follows the delivery rate: what the page took in over the last second, times 150 ms, never under the least', () => {
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  f.acked(0);
  // 10 frames of 1000 bytes acknowledged within one second: 10,000 B/s, a budget of 1,500 bytes.
  for (let i = 0; i < 10; i++) {
    f.sent(1000);
    f.acked(1);
    t += 90;
  }
  f.sent(5000);
  f.sent(1500);
  assert.equal(f.congested, false);
  f.sent(100);
  assert.equal(f.congested, true);
  // Two quiet seconds later the rate has left the window: back to the least budget.
  t += 2000;
  f.acked(1);
  assert.equal(f.inFlightBytes, 1600);
  assert.equal(f.congested, false, 'the 5,000 bytes acknowledged now are the whole window: a budget of 750 over the 100 waiting');
  t += 2000;
  f.sent(200);
  assert.equal(f.congested, true, '300 bytes wait behind the 1,500 on the wire, over the least budget of 100');
});

test('an ack of 0 frames (the page announcing itself) turns flow control on from the first frame', () => {
  const f = frameFlow(100, 150, () => 0);
  f.acked(0);
  assert.equal(f.inFlightBytes, 0);
  f.sent(150);
  f.sent(150);
  assert.equal(f.congested, true);
});

test('the ack message: 0..1000 frames accepted, hostile counts refused; decided into one framesAcked effect', () => {
  assert.equal(clientMessageSchema.safeParse({ t: 'ack', frames: 0 }).success, true);
  assert.equal(clientMessageSchema.safeParse({ t: 'ack', frames: 1 }).success, true);
  assert.equal(clientMessageSchema.safeParse({ t: 'ack', frames: 1000 }).success, true);
  for (const frames of [-1, 1001, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 63 - 1, 1.5, Number.NaN, '1', 'x\ud800', null]) {
    assert.equal(clientMessageSchema.safeParse({ t: 'ack', frames }).success, false, `frames ${String(frames)}`);
  }
  const d = decide(initialViewerState('v1', 'viewer', 0), { t: 'ack', frames: 3 }, { now: 0 });
  assert.deepEqual(d, { events: [], effects: [{ type: 'framesAcked', frames: 3 }] });
});

test('a page that never acknowledges does not make the gateway remember every frame it was sent', () => {
  const f = frameFlow(100, 150, () => 0);
  // 100,000 frames: about an hour of a slowed stream to a page that never sends {t:"ack"}.
  for (let i = 0; i < 100_000; i++) f.sent(1000);
  assert.equal(f.congested, false, 'still not judged');
  assert.equal(f.inFlightBytes, MAX_FRAMES_IN_FLIGHT * 1000, 'only the latest frames are remembered');
  // A late first ack still settles the oldest remembered frame, and the rest still count.
  f.acked(1);
  assert.equal(f.inFlightBytes, (MAX_FRAMES_IN_FLIGHT - 1) * 1000);
  assert.equal(f.congested, true);
});
