/** The machines list's query schema and cursor (services/gateway/routes/machines-query.ts) against hostile values. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MACHINES_PAGE_DEFAULT, decodeMachinesCursor, encodeMachinesCursor, machinesQuerySchema } from '../../services/gateway/routes/machines-query.js';

describe('machines list query', () => {
  it('accepts the ordinary values, with the defaults filled in', () => {
    assert.deepEqual(machinesQuerySchema.parse({}), { status: 'all' });
    const cursor = encodeMachinesCursor({ hostname: 'pc-01', agentId: 'm-1' });
    assert.deepEqual(machinesQuerySchema.parse({ limit: '1', q: 'pc', status: 'online', cursor }), { limit: 1, q: 'pc', status: 'online', cursor: { hostname: 'pc-01', agentId: 'm-1' } });
    assert.equal(machinesQuerySchema.parse({ limit: '500' }).limit, 500);
    assert.ok(MACHINES_PAGE_DEFAULT <= 500);
  });

  it('refuses hostile limits, filters, statuses and cursors', () => {
    const bad: Record<string, unknown>[] = [
      ...['0', '-1', '501', '2147483647', '4294967295', '9223372036854775807', '1.5', '1e2', '0x10', '', ' 5', 'NaN', 'Infinity'].map((limit) => ({ limit })),
      { limit: ['1', '2'] },
      { q: 'x\ud800' },
      { q: '\udc00x' },
      { q: 'a\u0000b' },
      { q: 'a\u001bb' },
      { q: 'a\u0085b' },
      { q: 'q'.repeat(201) },
      { q: 'q'.repeat(100_000) },
      { status: 'ONLINE' },
      { status: '' },
      { cursor: '' },
      { cursor: 'a.b' },
      { cursor: 'A'.repeat(20_000) },
      { cursor: Buffer.from('[1,2]').toString('base64url') },
      { cursor: Buffer.from('["h","a.b"]').toString('base64url') },
      { cursor: Buffer.from('["h\\u0000","m"]').toString('base64url') },
      { cursor: Buffer.from('["h","m","x"]').toString('base64url') },
    ];
    for (const input of bad) assert.equal(machinesQuerySchema.safeParse(input).success, false, JSON.stringify(input).slice(0, 80));
  });

  it('gives back every cursor it made, and nothing from arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), (hostname, agentId) => {
        fc.pre(!hostname.includes('\u0000'));
        assert.deepEqual(decodeMachinesCursor(encodeMachinesCursor({ hostname, agentId })), { hostname, agentId });
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const c = decodeMachinesCursor(s);
        // Whatever decodes must be a well-formed pair (never throws, never a partial value).
        if (c) assert.ok(typeof c.hostname === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(c.agentId));
      }),
      { numRuns: 2000 },
    );
  });
});
