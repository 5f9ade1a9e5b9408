/** Keyed gateway event ids: deterministic per key and fact, unguessable without the key. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createEventIds, loadEventIds, newEventIdKey, readEventIdKey } from '../../services/gateway/bus/event-ids.js';

const dir = mkdtempSync(join(tmpdir(), 'gc-event-ids-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('event ids', () => {
  const key = randomBytes(32);

  it('gives every gateway with the same key the same id for the same fact', () => {
    const a = createEventIds(key);
    const b = createEventIds(Buffer.from(key));
    assert.equal(a.commandFailed('c-1'), b.commandFailed('c-1'));
    assert.equal(a.agentOffline('pc-7', 1_700_000_000_000), b.agentOffline('pc-7', 1_700_000_000_000));
  });

  it('cannot be computed from what an agent sees: not the old derived id, and another key gives another id', () => {
    const a = createEventIds(key);
    const other = createEventIds(randomBytes(32));
    assert.notEqual(a.commandFailed('c-1'), 'command_failed-c-1');
    assert.notEqual(a.agentOffline('pc-7', 5), 'agent_offline-pc-7-5');
    assert.notEqual(a.commandFailed('c-1'), other.commandFailed('c-1'));
    assert.notEqual(a.commandFailed('c-1'), a.commandFailed('c-2'));
    // The kind is part of the MAC: one fact's id is never another kind's.
    assert.notEqual(a.commandFailed('pc-7'), a.agentOffline('pc-7', 0));
  });

  it('keeps fields apart and copes with hostile text', () => {
    const a = createEventIds(key);
    assert.notEqual(a.agentOffline('a-1', 23), a.agentOffline('a', 123));
    const ids = ['x\ud800', 'a\0b', 'y'.repeat(100_000), ''].map((c) => a.commandFailed(c));
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, /^command_failed-[A-Za-z0-9_-]{43}$/);
    for (const n of [0, -1, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 63 - 1, Number.NaN]) assert.match(a.agentOffline('pc', n), /^agent_offline-[A-Za-z0-9_-]{43}$/);
  });

  it('refuses short keys', () => {
    assert.throws(() => createEventIds(randomBytes(16)), /at least 32/);
  });

  it('reads the key file the launcher writes, and refuses an empty or short one', async () => {
    const good = join(dir, 'good.key');
    writeFileSync(good, newEventIdKey());
    const r = await readEventIdKey(good);
    assert.ok(r.ok);
    const again = await readEventIdKey(good);
    assert.ok(again.ok);
    assert.equal(createEventIds(r.value).commandFailed('c'), createEventIds(again.value).commandFailed('c'));
    const short = join(dir, 'short.key');
    writeFileSync(short, 'too-short\n');
    const s = await readEventIdKey(short);
    assert.equal(!s.ok && s.error.code, 'VALIDATION_FAILED');
    const missing = await readEventIdKey(join(dir, 'nope.key'));
    assert.equal(missing.ok, false);
  });

  it('without a key file makes a process key and says so once', async () => {
    const lines: string[] = [];
    const a = await loadEventIds(undefined, (m) => lines.push(m));
    const b = await loadEventIds(undefined, () => {});
    assert.ok(a.ok && b.ok);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /GC_EVENT_ID_KEY_FILE/);
    assert.notEqual(a.value.commandFailed('c'), b.value.commandFailed('c'));
    const withFile = await loadEventIds(join(dir, 'nope.key'), (m) => lines.push(m));
    assert.equal(withFile.ok, false);
    assert.equal(lines.length, 1);
  });
});
