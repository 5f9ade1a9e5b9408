/** The agent's guard against stored commands delivered again: the age window and the persisted ids. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decode, encode, message } from '../../proto/codec.js';
import { loadAgentConfig } from '../../agent/config.js';
import { DEFAULT_COMMAND_WINDOW, judgeAge } from '../../agent/runtime/command-window.js';
import { LEGACY_SEEN_FILE_NAME, SEEN_FILE_NAME, type SeenStore, openSeenStore } from '../../agent/runtime/seen-store.js';
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
  /** The ids a store holds, read back by opening a second store on the same file. */
  const first = (s: SeenStore, id: string, at = NOW) => {
    const r = s.remember(id, at);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    return r.value;
  };

  it('refuses an id it ran, also after a restart (a new store on the same file)', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    let t = NOW;
    const a = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => t });
    assert.equal(first(a, 'c-1', t), true);
    assert.equal(first(a, 'c-1', t), false);
    t += 10_000;
    // No flush awaited and no close: what a kill -9 right after the command started leaves.
    const b = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => t });
    assert.equal(b.notBefore, 0);
    assert.equal(first(b, 'c-1', NOW), false, 'remembered across the restart');
    assert.equal(first(b, 'c-2', t), true);
  });

  it('writes the file owner-only, in a directory it creates owner-only', async () => {
    const dir = freshDir();
    const file = join(dir, SEEN_FILE_NAME);
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW });
    first(s, 'c-1');
    await s.flushed();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(readFileSync(file, 'utf8').split('\n'), ['{"v":2,"notBefore":0}', '["c-1",1765000000000]', '']);
  });

  it('forgets ids once their commands are too old to run anyway', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    let t = NOW;
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => t });
    first(s, 'old', t);
    t += 60_000;
    first(s, 'newer', t);
    t += 60_001;
    const again = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => t });
    assert.equal(again.size(), 1);
    assert.deepEqual(readFileSync(file, 'utf8').split('\n').slice(1), [`["newer",${NOW + 60_000}]`, '']);
  });

  it('stays bounded: beyond its capacity it forgets the oldest', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, capacity: 3, now: () => NOW });
    for (const id of ['a', 'b', 'c', 'd']) assert.equal(first(s, id), true);
    assert.equal(s.size(), 3);
    assert.equal(first(s, 'd'), false);
    assert.equal(first(s, 'a'), true, 'the oldest was forgotten');
  });

  it('compacts its log: thousands of commands leave a file of the live ids only', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    let t = NOW;
    const s = await openSeenStore({ file, maxAgeMs: 1000, now: () => t });
    for (let i = 0; i < 5000; i++) {
      first(s, `c-${i}`, t);
      t += 10;
    }
    const lines = readFileSync(file, 'utf8').split('\n').length;
    assert.ok(lines < 1300, `${lines} lines`);
    const again = await openSeenStore({ file, maxAgeMs: 1000, now: () => t });
    // The last second of commands (100 of them) is still refused, the oldest is forgotten.
    assert.equal(first(again, 'c-4999', t), false);
    assert.equal(first(again, 'c-4900', t), false);
    assert.equal(again.size(), 100);
  });

  it('keeps hostile ids exactly (newline, NUL, lone surrogate, 100k characters)', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    const ids = ['a\nb', 'x\0y', 'x\ud800', '"],["forged",1]', 'z'.repeat(100_000)];
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW });
    for (const id of ids) assert.equal(first(s, id), true);
    const again = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW });
    assert.equal(again.notBefore, 0);
    for (const id of ids) assert.equal(first(again, id), false, id.slice(0, 20));
    assert.equal(first(again, 'forged'), true, 'an id cannot write a second entry');
  });

  it('ignores a torn last line (the agent died inside the write, before the command ran)', async () => {
    const file = join(freshDir(), SEEN_FILE_NAME);
    const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW });
    first(s, 'ran');
    writeFileSync(file, `${readFileSync(file, 'utf8')}["torn",17650`);
    const again = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW });
    assert.equal(again.notBefore, 0, 'not a loss');
    assert.equal(first(again, 'ran'), false);
    assert.equal(first(again, 'torn'), true);
  });

  it('refuses to run a command whose id it could not write', async () => {
    const s = await openSeenStore({ file: join(freshDir(), SEEN_FILE_NAME), maxAgeMs: w.maxAgeMs, now: () => NOW });
    s.close();
    const r = s.remember('c-1', NOW);
    assert.equal(r.ok, false);
    assert.deepEqual(s.remember('c-1', NOW), { ok: true, value: false }, 'and a second delivery is refused as run');
  });

  it('after losing its file (garbage), refuses commands dated before it started, also after a second restart', async () => {
    const log = (...rows: string[]) => rows.map((r) => `${r}\n`).join('');
    for (const garbage of ['{not json\n', '', log('{"v":1,"ids":[]}'), log('{"v":2,"notBefore":0}', '["x","not a number"]'), log('{"v":2,"notBefore":0}', '{broken', '["y",1]'), 'x\ud800\0\n']) {
      const file = join(freshDir(), SEEN_FILE_NAME);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, garbage);
      const { log, lines } = logLines();
      const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW, log });
      assert.equal(s.notBefore, NOW, JSON.stringify(garbage));
      assert.match(lines.map((l) => l.msg).join('\n'), /unreadable/);
      const again = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW + 5_000 });
      assert.equal(again.notBefore, NOW, 'the loss is remembered in the new file');
    }
  });

  it('a loss recorded far in the future (a clock that ran ahead, 2^63-1) does not refuse every command until then', async () => {
    // As the file holds them: text, so 2^63-1 is written exactly as a corrupt or hostile file would have it.
    for (const ahead of [String(NOW + 10 * 365 * 86_400_000), String(2 ** 53 - 1), '9223372036854775807', '8.64e15', '1e308']) {
      const file = join(freshDir(), SEEN_FILE_NAME);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, `{"v":2,"notBefore":${ahead}}\n["c-kept",${NOW}]\n`);
      const { log, lines } = logLines();
      const s = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW, log });
      assert.equal(s.notBefore, NOW, `notBefore ${ahead}: taken as a loss now`);
      assert.match(lines.map((l) => l.msg).join('\n'), /ahead of this machine's clock/);
      assert.equal(first(s, 'c-kept'), false, 'the ids the file holds are still refused');
      const again = await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW + 5_000 });
      assert.equal(again.notBefore, NOW, 'and the corrected loss is what the file keeps');
    }
    // A loss a little ahead (a clock stepped back by NTP after it) is kept as it is.
    const file = join(freshDir(), SEEN_FILE_NAME);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, `{"v":2,"notBefore":${NOW + 5_000}}\n`);
    assert.equal((await openSeenStore({ file, maxAgeMs: w.maxAgeMs, now: () => NOW })).notBefore, NOW + 5_000);
  });

  it('a huge file is not read into memory: over 4 MB it is a loss (refuse what came before), and a large valid one is cut to capacity', async () => {
    const big = join(freshDir(), SEEN_FILE_NAME);
    mkdirSync(join(big, '..'), { recursive: true });
    // 5 MB of well-formed lines: not a file this agent wrote (20,000 ids stay far under 4 MB).
    const line = `["${'i'.repeat(100)}",${NOW}]\n`;
    writeFileSync(big, `{"v":2,"notBefore":0}\n${line.repeat(Math.ceil((5 * 1024 * 1024) / line.length))}`);
    const { log, lines } = logLines();
    const s = await openSeenStore({ file: big, maxAgeMs: w.maxAgeMs, now: () => NOW, log });
    assert.equal(s.notBefore, NOW);
    assert.equal(s.size(), 0);
    assert.match(lines.map((l) => l.msg).join('\n'), /larger than 4194304 bytes/);
    assert.ok(statSync(big).size < 1024, 'rewritten small');

    // 30,000 distinct live ids with a capacity of 20,000 (the default): the newest 20,000 are kept, the file shrinks to them.
    const many = join(freshDir(), SEEN_FILE_NAME);
    mkdirSync(join(many, '..'), { recursive: true });
    writeFileSync(many, `{"v":2,"notBefore":0}\n${Array.from({ length: 30_000 }, (_, i) => `["c-${i}",${NOW - 30_000 + i}]\n`).join('')}`);
    const m = await openSeenStore({ file: many, maxAgeMs: w.maxAgeMs, now: () => NOW });
    assert.equal(m.notBefore, 0, 'not a loss');
    assert.equal(m.size(), 20_000);
    assert.equal(readFileSync(many, 'utf8').split('\n').length, 1 + 20_000 + 1, 'the header and the ids kept, nothing else');
    assert.equal(first(m, 'c-29999'), false, 'the newest is remembered');
    assert.equal(first(m, 'c-0'), true, 'the oldest beyond capacity was forgotten');
  });

  it("takes over an earlier release's whole-file store (and refuses after losing it as before)", async () => {
    const dir = freshDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, LEGACY_SEEN_FILE_NAME), JSON.stringify({ v: 1, notBefore: 5, ids: [['c-old', NOW]] }));
    const s = await openSeenStore({ file: join(dir, SEEN_FILE_NAME), maxAgeMs: w.maxAgeMs, now: () => NOW });
    assert.equal(s.notBefore, 5);
    assert.equal(first(s, 'c-old'), false);
    assert.equal(existsSync(join(dir, LEGACY_SEEN_FILE_NAME)), false, 'the old file is gone once the log holds its ids');
    const again = await openSeenStore({ file: join(dir, SEEN_FILE_NAME), maxAgeMs: w.maxAgeMs, now: () => NOW });
    assert.equal(first(again, 'c-old'), false);

    const lost = freshDir();
    mkdirSync(lost, { recursive: true });
    writeFileSync(join(lost, LEGACY_SEEN_FILE_NAME), JSON.stringify({ v: 1, ids: [['x', 'not a number']] }));
    assert.equal((await openSeenStore({ file: join(lost, SEEN_FILE_NAME), maxAgeMs: w.maxAgeMs, now: () => NOW })).notBefore, NOW);
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
