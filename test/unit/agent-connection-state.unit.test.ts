/**
 * `guruconnect-agent status` reads the running agent's connection.json (agent/install/connection-state.ts).
 * What it says must come from a live agent: a damaged, truncated or hand-edited file (pid 0 or -1,
 * which kill(2) takes as a process group or every process, huge numbers, wrong types, 100k
 * characters) says "unknown" or "not running", never "connected".
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readConnectionState, writeConnectionState } from '../../agent/install/connection-state.js';

const dir = mkdtempSync(join(tmpdir(), 'gc-conn-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const since = '2026-12-07T12:00:00.000Z';

describe('agent status: connection state', () => {
  it('says connected for a live agent that recorded it', () => {
    writeConnectionState(dir, { pid: process.pid, connected: true, server: 'tls://gw.example:4222', since });
    assert.deepEqual(readConnectionState(dir), { connected: true, text: `connected to tls://gw.example:4222 since ${since}` });
  });

  it('never says connected from a file no live agent wrote', () => {
    const file = join(dir, 'connection.json');
    const rec = (pid: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ pid, connected: true, server: 'nats://x:4222', since, ...extra });
    for (const text of [
      rec(0),
      rec(-1),
      rec(-process.pid),
      rec(2 ** 31 - 1),
      rec(2 ** 32 - 1),
      rec(2 ** 53 - 1),
      rec(1.5),
      rec('1'),
      rec(null),
      rec(process.pid, { server: 'x'.repeat(100_000) }),
      rec(process.pid, { connected: 'yes' }),
      // Escape sequences would reach the admin's terminal through `status`.
      rec(process.pid, { server: 'nats://x:4222\u001b[2J\u001b]0;pwned\u0007' }),
      rec(process.pid, { since: '\u009b31m' }),
      rec(process.pid).slice(0, 20),
      '',
      '\u0000',
      'x\ud800',
    ]) {
      writeFileSync(file, text);
      const s = readConnectionState(dir);
      assert.equal(s.connected, false, text.slice(0, 60));
      assert.ok(s.text.length < 3000, 'a bounded line');
    }
  });
});
