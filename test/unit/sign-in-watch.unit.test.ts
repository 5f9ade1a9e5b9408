/** The sign-in watch of long-lived sockets (services/gateway/ws/sign-in-watch.ts), over a fake lookup. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watchSignIn } from '../../services/gateway/ws/sign-in-watch.js';

describe('watchSignIn', () => {
  it('shares one lookup among the checks of one period, answering them in call order', async () => {
    let asked = 0;
    const w = watchSignIn(
      async () => {
        asked++;
        return true;
      },
      () => assert.fail('not ended'),
      { reuseMs: 60_000, everyMs: 60_000 },
    );
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => w.check().then(() => order.push(i))));
    w.stop();
    assert.equal(asked, 1);
    assert.deepEqual(order, [1, 2, 3]);
  });

  it('ends once on a false answer, and answers false afterwards without asking again', async () => {
    let asked = 0;
    let ended = 0;
    const w = watchSignIn(
      async () => {
        asked++;
        return false;
      },
      () => ended++,
      { reuseMs: 0, everyMs: 60_000 },
    );
    assert.equal(await w.check(), false);
    assert.equal(await w.check(), false);
    w.stop();
    assert.equal(ended, 1);
    assert.equal(asked, 1);
  });

  it('keeps the socket when the lookup fails or hangs past its timeout (no verdict on the token), and asks again in the next period', async () => {
    let asked = 0;
    const errors: unknown[] = [];
    const w = watchSignIn(
      async () => {
        asked++;
        if (asked === 1) throw new Error('database down');
        return true;
      },
      () => assert.fail('not ended'),
      { reuseMs: 0, everyMs: 60_000, onError: (e) => errors.push(e) },
    );
    assert.equal(await w.check(), true);
    assert.equal(await w.check(), true);
    w.stop();
    assert.equal(asked, 2);
    assert.equal(errors.length, 1);

    const hung = watchSignIn(
      () => new Promise<boolean>(() => {}),
      () => assert.fail('not ended'),
      { timeoutMs: 10, everyMs: 60_000, onError: (e) => errors.push(e) },
    );
    assert.equal(await hung.check(), true);
    hung.stop();
    assert.match(String(errors.at(-1)), /no answer within 10 ms/);
  });

  it('standing() answers at once from the last verdict and asks in the background: false only after a lookup said so', async () => {
    let valid = true;
    let ended = 0;
    const w = watchSignIn(
      async () => valid,
      () => ended++,
      { reuseMs: 0, everyMs: 60_000 },
    );
    assert.equal(w.standing(), true);
    valid = false;
    assert.equal(w.standing(), true, 'the background lookup has not answered yet');
    await w.check();
    assert.equal(w.standing(), false);
    w.stop();
    assert.equal(ended, 1);
  });
});
