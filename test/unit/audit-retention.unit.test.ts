/** Audit retention without servers: which rows a prune may delete, and how its settings are read. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { auditRetentionConfig } from '../../projections/audit/retention-config.js';
import { prunablePrefix, retentionCutoff } from '../../projections/audit/retention-cutoff.js';
import { pruneDays } from '../../projections/cli/audit-prune.js';

const DAY = 86_400_000;
const rows = (...ms: number[]) => ms.map((t) => ({ created_at: new Date(t) }));

describe('audit retention cutoff', () => {
  it('deletes the leading rows created before the cutoff and stops at the first row inside the window', () => {
    // seq order; created_at is not monotonic (a command row carries its request's time).
    assert.equal(prunablePrefix(rows(1, 2, 5, 3, 9, 4, 1), new Date(5)), 2);
    assert.equal(prunablePrefix(rows(1, 2, 3), new Date(5)), 3, 'every row older: all of them');
    assert.equal(prunablePrefix(rows(7, 1, 1), new Date(5)), 0, 'first row inside the window: nothing, however old the rest');
    assert.equal(prunablePrefix([], new Date(5)), 0);
    assert.equal(prunablePrefix(rows(4, 5), new Date(5)), 1, 'a row exactly at the cutoff is kept');
  });

  it('is always a prefix: every deleted row is older than the cutoff and precedes the first in-window row', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 60 }), fc.integer({ min: 0, max: 101 }), (times, cut) => {
        const n = prunablePrefix(rows(...times), new Date(cut));
        assert.ok(
          times.slice(0, n).every((t) => t < cut),
          'every deleted row is older than the cutoff',
        );
        if (n < times.length) assert.ok(times[n]! >= cut, 'the first kept row is inside the window');
      }),
    );
  });

  it('puts the cutoff the given number of days (fractions too) before now', () => {
    const now = new Date(Date.UTC(2030, 5, 1));
    assert.equal(retentionCutoff(now, 30).getTime(), now.getTime() - 30 * DAY);
    assert.equal(retentionCutoff(now, 0.5).getTime(), now.getTime() - DAY / 2);
  });
});

describe('audit retention settings', () => {
  it('reads GC_AUDIT_RETENTION_DAYS once: unset or 0 keeps forever, anything but a number >= 0 is refused', () => {
    assert.deepEqual(auditRetentionConfig({}), { ok: true, value: { days: 0, intervalMs: 3_600_000 } });
    assert.deepEqual(auditRetentionConfig({ GC_AUDIT_RETENTION_DAYS: '90', GC_AUDIT_PRUNE_INTERVAL_MS: '500' }), { ok: true, value: { days: 90, intervalMs: 500 } });
    // Past ~2,700 years the cutoff is no date Postgres (or JavaScript) holds: refused at start, not failed at each prune.
    for (const bad of ['-1', 'ninety', 'Infinity', '1000001', '99999999999', '1e308']) {
      const r = auditRetentionConfig({ GC_AUDIT_RETENTION_DAYS: bad });
      assert.ok(!r.ok && r.error.code === 'VALIDATION_FAILED' && r.error.message.includes('GC_AUDIT_RETENTION_DAYS'), bad);
    }
    assert.ok(!auditRetentionConfig({ GC_AUDIT_PRUNE_INTERVAL_MS: '10' }).ok);
    // Over setInterval's 2^31-1 ms, Node would prune every millisecond.
    for (const bad of [String(2 ** 31), String(2 ** 32 - 1), '9223372036854775807']) assert.ok(!auditRetentionConfig({ GC_AUDIT_PRUNE_INTERVAL_MS: bad }).ok, bad);
  });

  it('audit prune takes --older-than-days, else the configured retention, and refuses to prune everything by default', () => {
    assert.equal(pruneDays(['--older-than-days', '7'], {}), 7);
    assert.equal(pruneDays([], { GC_AUDIT_RETENTION_DAYS: '30' }), 30);
    assert.equal(pruneDays(['--older-than-days', '7'], { GC_AUDIT_RETENTION_DAYS: '30' }), 7);
    for (const argv of [
      ['--older-than-days', '0'],
      ['--older-than-days', 'x'],
      ['--older-than-days', ''],
      ['--bogus'],
      ...['1000001', '99999999999', '1e308', String(2 ** 63)].map((d) => ['--older-than-days', d]),
    ])
      assert.equal(typeof pruneDays(argv, {}), 'string', argv.join(' '));
    assert.equal(pruneDays(['--older-than-days', '1000000'], {}), 1_000_000);
    assert.match(String(pruneDays([], {})), /nothing to do/);
  });
});
