/** The viewer socket's control-message budget (services/gateway/ws/control-budget.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { controlBudget } from '../../services/gateway/ws/control-budget.js';

describe('controlBudget', () => {
  it('takes `max` counted messages a second, tells once about the first it drops, drops the rest silently, and starts over a second later', () => {
    const take = controlBudget(3);
    const at = (n: number, ms: number) => Array.from({ length: n }, () => take('watch', ms));
    assert.deepEqual(at(6, 1000), ['take', 'take', 'take', 'tell', 'drop', 'drop']);
    assert.deepEqual(at(1, 1999), ['drop']);
    assert.deepEqual(at(4, 2000), ['take', 'take', 'take', 'tell']);
  });

  it('never counts input, frame acks, terminal keystrokes or session-list requests (each has its own bound)', () => {
    const take = controlBudget(1);
    assert.equal(take('switch', 0), 'take');
    for (const kind of ['input', 'ack', 'terminal.input', 'sessions']) for (let i = 0; i < 100; i++) assert.equal(take(kind, 0), 'take', kind);
    assert.equal(take('backstage.processes', 0), 'tell');
  });

  it('holds at hostile clocks: 0, -1, 2^53-1 and a clock that goes back', () => {
    const take = controlBudget(1);
    assert.equal(take('watch', 0), 'take');
    assert.equal(take('watch', -1), 'tell');
    assert.equal(take('watch', 2 ** 53 - 1), 'take');
    assert.equal(take('watch', 5), 'tell');
  });
});
