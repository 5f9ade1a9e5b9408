/** The agent's guard against stored commands delivered again: the age window and the persisted ids. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decode, encode, message } from '../../proto/codec.js';
import { loadAgentConfig } from '../../agent/config.js';
import { DEFAULT_COMMAND_WINDOW, judgeAge } from '../../agent/runtime/command-window.js';
import { SEEN_FILE_NAME, openSeenStore } from '../../agent/runtime/seen-store.js';
import { logLines } from '../support/log-lines.js';

const root = mkdtempSync(join(tmpdir(), 'gc-seen-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, String(++n));
const w = { maxAgeMs: 120_000, maxFutureMs: 30_000 };
const NOW = 1_765_000_000_000;

describe('command window', () => {
  it('defaults to 2 minutes back and 30 s ahead', () => {
    assert.deepEqual(DEFAULT_COMMAND_WINDOW, w);
  });

  it('runs a command dated within the window, edges included', () => {
    for (const at of [NOW, NOW - 120_000, NOW + 30_000, NOW - 1]) assert.equal(judgeAge(at, NOW, w).fresh, true, String(at));
  });

  it('refuses one dated too far back or ahead, with a reason', () => {
    const old = judgeAge(NOW - 120_001, NOW, w);
    assert.equal(!old.fresh && old.reason, 'stale');
    assert.match(!old.fresh ? old.message : '', /clock/);
    const ahead = judgeAge(NOW + 30_001, NOW, w);
    assert.equal(!ahead.fresh && ahead.reason, 'future');
  });

  it('refuses every odd date: unset (0), negative, huge, NaN', () => {
    // What really arrives for int64 2^63-1 after encode/decode: the envelope decides, not the test.
    const huge = decode(encode(message({ requestSessions: {} }, { atMs: 2 ** 63 - 1 })));
    assert.ok(huge.ok);
    for (const at of [0, -1, 2 ** 31 - 1, 2 ** 32 - 1, Number(huge.value.meta.atMs), 8.64e15, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      assert.equal(judgeAge(at, NOW, w).fresh, false, String(at));
    }
  });
});

describe('seen-command store', () => {
  it('refuses an id it ran, also after a restart (a new store on the same file)', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    let t = NOW;
    const a = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => t });
    assert.equal(a.firstTime('c-1', t), true);
    assert.equal(a.firstTime('c-1', t), false);
    await a.persisted();
    t += 10_000;
    const b = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => t });
    assert.equal(b.notBefore, 0);
    assert.equal(b.firstTime('c-1', NOW), false, 'remembered across the restart');
    assert.equal(b.firstTime('c-2', t), true);
  });

  it('writes the file owner-only, in a directory it creates owner-only', async () => {
    const dir = freshDir();
    const file = join(dir, SEEN_FILE_NAME);
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW });
    s.firstTime('c-1', NOW);
    await s.persisted();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).ids, [['c-1', NOW]]);
  });

  it('forgets ids once their commands are too old to run anyway', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    let t = NOW;
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => t });
    s.firstTime('old', t);
    t += 60_000;
    s.firstTime('newer', t);
    t += 60_001;
    await s.persisted();
    assert.deepEqual(
      JSON.parse(readFileSync(file, 'utf8')).ids.map((e: [string, number]) => e[0]),
      ['newer'],
    );
    assert.equal(s.size(), 1);
  });

  it('stays bounded: beyond its capacity it forgets the oldest', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, capacity: 3, now: () => NOW });
    for (const id of ['a', 'b', 'c', 'd']) assert.equal(s.firstTime(id, NOW), true);
    assert.equal(s.size(), 3);
    assert.equal(s.firstTime('d', NOW), false);
    assert.equal(s.firstTime('a', NOW), true, 'the oldest was forgotten');
  });

  it('keeps every id written while writes overlap', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      s.firstTime(`c-${i}`, NOW);
      writes.push(s.persisted());
    }
    await Promise.all(writes);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).ids.length, 50);
  });

  it('after losing its file (garbage), refuses commands dated before it started, also after a second restart', async () => {
    for (const garbage of ['{not json', JSON.stringify({ v: 2, ids: [] }), JSON.stringify({ v: 1, ids: [['x', 'not a number']] }), 'x\ud800\0']) {
      const file = join(freshDir(), SEEN_FILE_NAME);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, garbage);
      const { log, lines } = logLines();
      const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW, log });
      assert.equal(s.notBefore, NOW, garbage);
      assert.match(lines.map((l) => l.msg).join('\n'), /unreadable/);
      const again = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW + 5_000 });
      assert.equal(again.notBefore, NOW, 'the loss is remembered in the new file');
    }
  });

  it('fails at start-up, not at the first command, when it cannot write its directory', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'blocker'), '');
    // A path below a regular file cannot be created, whoever runs the test (root included).
    await assert.rejects(openSeenStore({ file: join(dir, 'blocker', SEEN_FILE_NAME), maxAgeMs: w.maxAgeMs }));
  });
});

describe('agent config: state directory and command window', () => {
  const base = { GC_AGENT_ID: 'pc-7', NATS_URL: 'nats://127.0.0.1:4222' };
  it('keeps state next to the creds unless GC_AGENT_STATE_DIR says otherwise', () => {
    assert.equal(loadAgentConfig({ ...base, GC_AGENT_CREDS: '/var/lib/gc/agent/pc-7.creds' }).stateDir, '/var/lib/gc/agent');
    assert.equal(loadAgentConfig({ ...base, GC_AGENT_CREDS: '/x/a.creds', GC_AGENT_STATE_DIR: '/srv/state' }).stateDir, '/srv/state');
    const c = loadAgentConfig(base);
    assert.equal(c.commandMaxAgeMs, 120_000);
    assert.equal(c.commandMaxFutureMs, 30_000);
  });
  it('refuses a relative or NUL-carrying state directory and windows out of range', () => {
    for (const bad of [
      { GC_AGENT_STATE_DIR: 'relative/dir' },
      { GC_AGENT_STATE_DIR: '/a\0b' },
      { GC_COMMAND_MAX_AGE_MS: '0' },
      { GC_COMMAND_MAX_AGE_MS: '-1' },
      { GC_COMMAND_MAX_AGE_MS: String(2 ** 63 - 1) },
      { GC_COMMAND_MAX_FUTURE_MS: 'soon' },
    ]) {
      assert.throws(() => loadAgentConfig({ ...base, ...bad }), /invalid agent configuration/, JSON.stringify(bad));
    }
  });
});
