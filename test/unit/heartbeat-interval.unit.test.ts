import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEARTBEAT_MS, heartbeatIntervalMs } from '../../proto/heartbeat.js';
import { loadAgentConfig } from '../../agent/config.js';

test('the interval judged by is the reported one held to the configurable range; none, NaN or 0 is the default', () => {
  const cases: [number | null | undefined, number][] = [
    [undefined, HEARTBEAT_MS.default],
    [null, HEARTBEAT_MS.default],
    [0, HEARTBEAT_MS.default],
    [Number.NaN, HEARTBEAT_MS.default],
    [Number.POSITIVE_INFINITY, HEARTBEAT_MS.default],
    [-1, HEARTBEAT_MS.min],
    [1, HEARTBEAT_MS.min],
    [HEARTBEAT_MS.min, HEARTBEAT_MS.min],
    [1234, 1234],
    [HEARTBEAT_MS.max, HEARTBEAT_MS.max],
    [2 ** 31 - 1, HEARTBEAT_MS.max],
    [2 ** 32 - 1, HEARTBEAT_MS.max],
    [2 ** 63 - 1, HEARTBEAT_MS.max],
  ];
  for (const [reported, want] of cases) assert.equal(heartbeatIntervalMs(reported), want, String(reported));
});

test('an agent can be configured with exactly that range, and nothing outside it', () => {
  const env = { GC_AGENT_ID: 'hb-1', NATS_URL: 'tls://127.0.0.1:4222' };
  for (const ms of [HEARTBEAT_MS.min, HEARTBEAT_MS.max]) assert.equal(loadAgentConfig({ ...env, GC_HEARTBEAT_MS: String(ms) }).heartbeatMs, ms);
  for (const ms of [HEARTBEAT_MS.min - 1, HEARTBEAT_MS.max + 1, 2 ** 32 - 1]) assert.throws(() => loadAgentConfig({ ...env, GC_HEARTBEAT_MS: String(ms) }));
});
