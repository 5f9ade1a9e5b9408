import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameFlow } from '../../services/gateway/ws/frame-flow.js';
import { clientMessageSchema } from '../../services/gateway/ws/protocol.js';
import { decide, initialViewerState } from '../../services/gateway/ws/viewer-decider.js';

test('frames in flight: congested over the budget, clear again as the page acknowledges them oldest first', () => {
  const f = frameFlow(100);
  f.acked(1); // the page acks: flow control is on (nothing was sent, nothing is settled)
  assert.equal(f.inFlightBytes, 0);
  f.sent(60);
  assert.equal(f.congested, false);
  f.sent(50);
  assert.equal(f.congested, true);
  assert.equal(f.inFlightBytes, 110);
  f.acked(1);
  assert.equal(f.inFlightBytes, 50);
  assert.equal(f.congested, false);
});

test('a page that never acknowledges is never judged congested (an older dashboard still gets frames)', () => {
  const f = frameFlow(100);
  for (let i = 0; i < 50; i++) f.sent(1000);
  assert.equal(f.congested, false);
  f.acked(1);
  assert.equal(f.congested, true);
});

test('an ack of 0 frames (the page announcing itself) turns flow control on from the first frame', () => {
  const f = frameFlow(100);
  f.acked(0);
  assert.equal(f.inFlightBytes, 0);
  f.sent(150);
  assert.equal(f.congested, true);
});

test('more acks than frames sent settle only what was sent; later frames count again', () => {
  const f = frameFlow(100);
  f.sent(80);
  f.acked(2 ** 31 - 1);
  assert.equal(f.inFlightBytes, 0);
  f.sent(150);
  assert.equal(f.inFlightBytes, 150);
  assert.equal(f.congested, true);
});

test('a long stream keeps exact counts across the internal compaction', () => {
  const f = frameFlow(1_000_000);
  for (let i = 0; i < 5000; i++) {
    f.sent(i % 7);
    if (i % 2) f.acked(1);
  }
  let rest = 0;
  for (let i = 2500; i < 5000; i++) rest += i % 7;
  assert.equal(f.inFlightBytes, rest);
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
