import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paceController } from '../../services/gateway/ws/stream-pace.js';

test('a viewer that falls behind gets half the frame rate and lower quality at once, down to a floor', () => {
  const p = paceController({ fps: 30, quality: 70 });
  assert.deepEqual(p.observe(true), { fps: 15, quality: 55 });
  assert.deepEqual(p.observe(true), { fps: 7, quality: 40 });
  assert.deepEqual(p.observe(true), { fps: 5, quality: 30 });
  assert.equal(p.observe(true), undefined, 'at the floor nothing changes');
});

test('recovery is one step per calm spell, never above the start', () => {
  const p = paceController({ fps: 30, quality: 70 });
  p.observe(true); // 15 / 55
  for (let i = 0; i < 4; i++) assert.equal(p.observe(false), undefined, 'four calm windows are not enough');
  assert.deepEqual(p.observe(false), { fps: 20, quality: 60 });
  p.observe(true); // behind again: the calm count starts over
  assert.deepEqual(p.current, { fps: 10, quality: 45 });
  for (let i = 0; i < 50; i++) p.observe(false);
  assert.deepEqual(p.current, { fps: 30, quality: 70 });
});

test('a start below the floor is kept as it is', () => {
  const p = paceController({ fps: 3, quality: 20 });
  assert.equal(p.observe(true), undefined);
  assert.deepEqual(p.current, { fps: 3, quality: 20 });
});
