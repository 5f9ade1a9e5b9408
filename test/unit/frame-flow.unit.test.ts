import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_FRAMES_IN_FLIGHT, frameFlow } from '../../services/gateway/ws/frame-flow.js';
import { clientMessageSchema } from '../../services/gateway/ws/protocol.js';
import { decide, initialViewerState } from '../../services/gateway/ws/viewer-decider.js';

test('congested when more than the budget waits behind the oldest frame in flight; clear again as the page acknowledges, oldest first', () => {
  // A clock that never moves: every ack is a 1 ms sample of whatever was acknowledged, so the least budget is met only before the first ack.
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
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  for (let i = 0; i < 50; i++) f.sent(1000);
  assert.equal(f.congested, false);
  t = 10_000;
  f.acked(1); // 1000 bytes taken in this second, a round trip of 10 s: a budget of 1000 x 10.15 s = 10,150 bytes, under the 49,000 waiting
  assert.equal(f.congested, true);
});

test('more acks than frames sent settle only what was sent; later frames count again', () => {
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  f.sent(80);
  t = 1000;
  f.acked(2 ** 31 - 1);
  assert.equal(f.inFlightBytes, 0);
  assert.equal(f.inFlightFrames, 0);
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

test('the budget follows the delivery rate and the round trip: rate x (least send-to-ack time + 150 ms), never under the least', () => {
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  f.acked(0);
  // Ten frames of 1000 bytes sent at once, acknowledged one per 100 ms: 10,000 B/s, a round trip of 100 ms.
  for (let i = 0; i < 10; i++) f.sent(1000);
  for (let i = 0; i < 10; i++) {
    t += 100;
    f.acked(1);
  }
  assert.equal(f.deliveredPerSec, 10_000);
  assert.equal(f.minRttMs, 100);
  // A budget of 10,000 x 0.25 s = 2,500 bytes behind the frame on the wire.
  f.sent(5000);
  f.sent(1500);
  f.sent(1000);
  assert.equal(f.congested, false);
  f.sent(100);
  assert.equal(f.congested, true);
  // Three quiet seconds later the rate samples have left the window: back to the least budget.
  t += 3000;
  assert.equal(f.deliveredPerSec, 0);
  assert.equal(f.congested, true);
});

test('a long round trip raises the budget by the bytes on the wire: a link far away is not held under its rate', () => {
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  f.acked(0);
  // A steady stream: 1000 bytes every 100 ms, each acknowledged 850 ms after it left (10,000 B/s).
  let congested = false;
  for (t = 0; t <= 3000; t += 50) {
    if (t >= 850 && (t - 850) % 100 === 0) f.acked(1);
    if (t % 100 === 0) {
      // Judged once the first flight is acknowledged (the least budget is what covers a stream's start).
      if (t >= 2000) congested ||= f.congested;
      f.sent(1000);
    }
  }
  assert.equal(f.minRttMs, 850);
  assert.equal(f.deliveredPerSec, 10_000);
  // 9 frames on the wire, 8,000 bytes behind the oldest: under 10,000 x (0.85 + 0.15) s; a budget of
  // the rate x 150 ms alone (1,500 bytes) would have dropped most of this stream.
  assert.equal(f.inFlightFrames, 9);
  assert.equal(congested, false);
});

test('the budget follows what the page takes in a second, not the rate of the link: a page on loopback that takes a frame in 1 ms and paints for 99 is not sent 150 ms of the link', () => {
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  f.acked(0);
  for (let i = 0; i < 10; i++) {
    f.sent(1000);
    t += 1;
    f.acked(1);
    t += 99;
  }
  assert.equal(f.deliveredPerSec, 1_000_000, 'the link: 1000 bytes in 1 ms');
  assert.equal(f.minRttMs, 1);
  // The intake is 10,000 B/s: a budget of 10,000 x 0.151 s = 1,510 bytes behind the frame on the wire.
  f.sent(1000);
  f.sent(1000);
  f.sent(500);
  assert.equal(f.congested, false);
  f.sent(100);
  assert.equal(f.congested, true);
});

test('a delivery-rate sample counts from the last ack before the frame left, not from its send: bytes already on the wire do not inflate it', () => {
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  f.acked(0);
  f.sent(1000); // t = 0: a new flight
  t = 90;
  f.sent(10); // the 1000 bytes are still on the wire
  t = 100;
  f.acked(1);
  t = 101;
  f.acked(1);
  // 1010 bytes over the 101 ms since the flight began: 10,000 B/s, not 1010 bytes over the 11 ms the small frame took.
  assert.equal(Math.round(f.deliveredPerSec), 10_000);
  // After an idle spell, a new flight's sample starts at its own send: the idle time is not counted against the link.
  t = 5000;
  f.sent(500);
  t = 5050;
  f.acked(1);
  assert.equal(f.deliveredPerSec, 10_000, '500 bytes in 50 ms');
  assert.equal(f.minRttMs, 11);
});

test('the round trip is the least send-to-ack time of about the last ten seconds, so a route that got longer is followed', () => {
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  f.acked(0);
  f.sent(10);
  t = 20;
  f.acked(1);
  assert.equal(f.minRttMs, 20);
  for (let i = 0; i < 30; i++) {
    t += 1000;
    f.sent(10);
    t += 200;
    f.acked(1);
  }
  assert.equal(f.minRttMs, 200);
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

test('acknowledging once the page acks; the queue is what is in flight beyond the round trip at the delivery rate', () => {
  let t = 0;
  const f = frameFlow(100, 150, () => t);
  f.sent(1000);
  assert.equal(f.acknowledging, false, 'an older page that never acks has no rate to pace to');
  f.acked(0);
  assert.equal(f.acknowledging, true);
  for (let i = 0; i < 9; i++) f.sent(1000);
  for (let i = 0; i < 10; i++) {
    t += 100;
    f.acked(1);
  }
  // 10,000 B/s over a 100 ms round trip: 1,000 bytes on the wire are no queue, the 4,000 beyond them are.
  for (let i = 0; i < 5; i++) f.sent(1000);
  assert.equal(f.queuedBytes, 4000);
  f.acked(5);
  assert.equal(f.queuedBytes, 0, 'nothing in flight, nothing queued');
});

test('a fresh view: the intake is measured over the time since the first frame went out, so deltas waiting on a page busy with its first keyframe are not dropped', () => {
  // As traced on the viewer bench (scrolling text, loopback): a 600 KB keyframe acknowledged in
  // 40 ms, then 100 KB deltas the page, busy with its first paint, acknowledges late.
  let t = 0;
  const f = frameFlow(128 * 1024, 250, () => t);
  f.acked(0);
  f.sent(600_000);
  t = 40;
  f.acked(1);
  for (const at of [150, 183, 216]) {
    t = at;
    f.sent(100_000);
  }
  // 200 KB behind the first delta; over a whole second the page "took in" 600 KB, a budget of
  // 600 KB x 290 ms = 174 KB, and the third delta would have been dropped.
  assert.equal(f.congested, false, '200 KB wait, the page took in 600 KB in 216 ms');
  // A page that really stops taking frames in is still judged: past what it has taken in so far
  // (216 ms since the first frame, under the 290 ms the budget covers: 600 KB).
  for (let i = 0; i < 4; i++) f.sent(100_000);
  assert.equal(f.congested, false, '600 KB wait');
  f.sent(100_000);
  assert.equal(f.congested, true, '700 KB wait');
});

test('a whole second after the first frame the intake is over the second again (a stalled page is not credited with its first burst forever)', () => {
  let t = 0;
  const f = frameFlow(128 * 1024, 250, () => t);
  f.acked(0);
  f.sent(600_000);
  t = 40;
  f.acked(1);
  t = 1100; // the keyframe's ack is out of the window: nothing taken in over the last second
  f.sent(100_000);
  f.sent(100_000);
  assert.equal(f.congested, false, '100 KB waits, under the least budget');
  f.sent(100_000);
  assert.equal(f.congested, true, '200 KB wait: over the least budget of 128 KiB');
});
