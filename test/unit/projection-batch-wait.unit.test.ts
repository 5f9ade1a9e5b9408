/** GC_PROJECTION_BATCH_WAIT_MS: how long a projection worker gathers a partial batch; hostile values are refused as values. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode } from '../../proto/errors.js';
import { DEFAULT_BATCH_WAIT_MS, MAX_BATCH_WAIT_MS, batchWaitFromEnv } from '../../projections/runtime/batch-wait.js';

describe('projection batch wait setting', () => {
  it('defaults when unset or empty, and takes whole milliseconds within bounds', () => {
    assert.deepEqual(batchWaitFromEnv({}), { ok: true, value: DEFAULT_BATCH_WAIT_MS });
    assert.deepEqual(batchWaitFromEnv({ GC_PROJECTION_BATCH_WAIT_MS: '' }), { ok: true, value: DEFAULT_BATCH_WAIT_MS });
    assert.deepEqual(batchWaitFromEnv({ GC_PROJECTION_BATCH_WAIT_MS: '0' }), { ok: true, value: 0 }, '0: commit at once, as before');
    assert.deepEqual(batchWaitFromEnv({ GC_PROJECTION_BATCH_WAIT_MS: '25' }), { ok: true, value: 25 });
    assert.deepEqual(batchWaitFromEnv({ GC_PROJECTION_BATCH_WAIT_MS: String(MAX_BATCH_WAIT_MS) }), { ok: true, value: MAX_BATCH_WAIT_MS });
  });

  it('refuses what is not whole milliseconds within bounds, naming the setting', () => {
    for (const v of ['-1', '1.5', String(MAX_BATCH_WAIT_MS + 1), String(2 ** 31 - 1), String(2 ** 32 - 1), String(2n ** 63n - 1n), 'NaN', 'Infinity', 'ten', '1\0', '\ud800', 'x'.repeat(100_000)]) {
      const r = batchWaitFromEnv({ GC_PROJECTION_BATCH_WAIT_MS: v });
      assert.equal(r.ok, false, `accepted ${JSON.stringify(v.slice(0, 20))}`);
      if (!r.ok) {
        assert.equal(r.error.code, ErrorCode.VALIDATION_FAILED);
        assert.match(r.error.message, /GC_PROJECTION_BATCH_WAIT_MS/);
        assert.ok(r.error.message.length < 200, 'the refused value is not echoed back');
      }
    }
  });
});
