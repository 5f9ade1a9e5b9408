import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { pgJson, pgText } from '../../infra/db/pg-safe.js';
import type { AgentId } from '../../proto/ids.js';
import { parseSubject, subjects } from '../../proto/subjects.js';
import { agentInstantOrNull, eventTimeMs } from '../../proto/event-time.js';
import { classifyFailure } from '../../projections/runtime/failure-kind.js';
import { MAX_GRACE_MS, main as verifyCli, verifyArgs } from '../../projections/cli/audit-verify.js';

const dbError = (code: string) => Object.assign(new pg.DatabaseError('boom', 1, 'error'), { code });

describe('classifyFailure: quarantine only what an event causes', () => {
  it("SQLSTATE classes 22, 23 and 54, and a fold's TypeError or RangeError, are deterministic", () => {
    for (const c of ['22P02', '22003', '22008', '22021', '22001', '23505', '54000']) assert.equal(classifyFailure(dbError(c)).deterministic, true, c);
    assert.deepEqual(classifyFailure(new TypeError('x.y is undefined')), { deterministic: true, code: 'TypeError', message: 'x.y is undefined' });
    assert.equal(classifyFailure(new RangeError('Invalid time value')).deterministic, true);
  });

  it('connection loss, restarts, resources, rollbacks, schema bugs and anything else are retried', () => {
    for (const c of ['08006', '57P01', '53300', '40001', '40P01', '42P01', '42703']) assert.equal(classifyFailure(dbError(c)).deterministic, false, c);
    assert.equal(classifyFailure(new Error('Connection terminated unexpectedly')).deterministic, false);
    assert.equal(classifyFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).deterministic, false);
    assert.equal(classifyFailure('a string').deterministic, false);
  });
});

describe('eventTimeMs: no agent clock without bounds', () => {
  const agent = parseSubject(subjects.agentEvent('pc-1' as AgentId, 'status'));
  const audit = parseSubject(subjects.audit('login'));
  assert.ok(agent.ok && audit.ok);
  const stream = Date.UTC(2026, 0, 1);

  it('an agent clock within -1 day .. +5 min of the stream is kept, outside it the stream time is used', () => {
    assert.equal(eventTimeMs(agent.value, stream - 86_400_000, stream), stream - 86_400_000);
    assert.equal(eventTimeMs(agent.value, stream + 300_000, stream), stream + 300_000);
    for (const bad of [stream - 86_400_001, stream + 300_001, -1e15, 0, 8.64e15, Number.NaN]) assert.equal(eventTimeMs(agent.value, bad, stream), stream, String(bad));
  });

  it('a gateway clock is kept when storable, else the stream time', () => {
    assert.equal(eventTimeMs(audit.value, stream - 40 * 86_400_000, stream), stream - 40 * 86_400_000);
    assert.equal(eventTimeMs(audit.value, -1e15, stream), stream);
    assert.equal(eventTimeMs(audit.value, 8.64e15, stream), stream);
  });

  it('an agent-reported logon time outside [epoch, stream + 1 day] is unknown', () => {
    assert.equal(agentInstantOrNull(stream - 1000, stream)?.getTime(), stream - 1000);
    for (const bad of [0, -1, -1e15, stream + 86_400_001, 8.64e15]) assert.equal(agentInstantOrNull(bad, stream), null, String(bad));
  });
});

describe('pg-safe: one boundary for text and JSON', () => {
  it('lone surrogates become U+FFFD, NUL goes, pairs stay', () => {
    assert.equal(pgText('x\ud800'), 'x\ufffd');
    assert.equal(pgText('\udc00a\u0000b'), '\ufffdab');
    assert.equal(pgText('ok 😀'), 'ok 😀');
    assert.equal(pgText(null), '');
  });

  it('JSON values deep, keys too', () => {
    assert.deepEqual(pgJson({ a: ['x\ud800', { 'k\u0000': 'v\udfff' }], n: Number.NaN }), { a: ['x\ufffd', { k: 'v\ufffd' }], n: null });
  });
});

describe('audit verify CLI options', () => {
  it('refuses a --grace-ms that is not a whole number of ms >= 0, before connecting anywhere', async () => {
    for (const bad of ['-5', 'soon', '1.5']) assert.equal(await verifyCli(['--grace-ms', bad]), 2, bad);
  });

  it('takes --grace-ms up to an hour: 2^31-1, 2^32-1, 2^63-1 or 1e309 would have verify wait in effect forever on a stuck projection', () => {
    for (const bad of [String(MAX_GRACE_MS + 1), String(2 ** 31 - 1), String(2 ** 32 - 1), '9223372036854775807', '1e309', 'NaN', '', '-0.5'])
      assert.ok(verifyArgs(['--grace-ms', bad]) instanceof Error, bad);
    assert.deepEqual(verifyArgs([]), { graceMs: undefined, json: false });
    assert.deepEqual(verifyArgs(['--grace-ms', '0', '--json']), { graceMs: 0, json: true });
    assert.deepEqual(verifyArgs(['--grace-ms', String(MAX_GRACE_MS)]), { graceMs: MAX_GRACE_MS, json: false });
  });
});
