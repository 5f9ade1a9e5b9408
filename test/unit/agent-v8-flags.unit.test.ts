/**
 * The single-file agent's V8 settings (agent/binary/v8-flags.ts): it idles set for memory, without
 * the optimizing compiler, and switches to V8's defaults while a capture loop runs. Each case runs
 * in its own Node, which makes fresh functions hot and asks V8 (natives syntax) whether it optimized
 * them with TurboFan: the observable sign of which set is in force.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const repo = join(import.meta.dirname, '..', '..');
const url = (p: string) => JSON.stringify(pathToFileURL(join(repo, p)).href);

/**
 * Runs `body` (module code) in a fresh Node (extra `nodeArgs` first). In it, `optimized()` makes a new
 * function hot and tells whether TurboFan optimized it; `capture()` starts a capture loop on a desktop
 * that has no screen. Returns what `body` passed to `report`.
 */
function inNode(body: string, nodeArgs: string[] = []): unknown {
  const script = `
const status = new Function('f', 'return %GetOptimizationStatus(f)');
let made = 0;
const optimized = () => {
  const f = new Function('a', 'let s = ' + made++ + '; for (let i = 0; i < a.length; i++) s = (s + a[i] * 31) | 0; return s;');
  const a = new Int32Array(10000).fill(7);
  for (let i = 0; i < 5000; i++) f(a);
  return (status(f) & 16) !== 0;
};
const { startCaptureLoop } = await import(${url('agent/frames/capture-loop.ts')});
const desktop = { sessionId: 1, grab: async () => ({ ok: false, error: { code: 'INTERNAL', message: 'no screen' } }), mouse() {}, key() {}, clearClipboard() {}, close() {} };
const capture = () => startCaptureLoop(desktop, { fps: 1, quality: 50, epoch: () => 0, onFrame() {}, onError() {} });
const report = (v) => console.log(JSON.stringify(v));
${body}`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', ...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const footprint = `await import(${url('agent/binary/v8-footprint.ts')});`;
/** Optimized while idle, while one capture runs, and after it stopped. */
const idleCaptureAfter = `
const idle = optimized();
const a = capture();
const capturing = optimized();
await a.stop();
report({ idle, capturing, after: optimized() });`;

test('the binary idles without the optimizing compiler; a capture loop brings it back, the last stop takes it away', () => {
  const r = inNode(`${footprint}${idleCaptureAfter}`);
  assert.deepEqual(r, { idle: false, capturing: true, after: false });
});

test('two captures: the settings follow the last one, and stopping one twice counts once', () => {
  const r = inNode(`${footprint}
const a = capture();
const b = capture();
await a.stop();
await a.stop();
const oneLeft = optimized();
await b.stop();
report({ oneLeft, none: optimized() });`);
  assert.deepEqual(r, { oneLeft: true, none: false });
});

test('without the footprint settings (the agent from source, benches) a capture changes no V8 flag', () => {
  // Started with --no-turbofan on the command line: a capture loop must leave it as it is.
  const r = inNode('const a = capture(); const capturing = optimized(); await a.stop(); report({ capturing });', ['--no-turbofan']);
  assert.deepEqual(r, { capturing: false });
  assert.deepEqual(inNode('report({ plain: optimized() });'), { plain: true });
});

/** agent/main.ts run for `--version` (process.exit held back so the script goes on), with `env` set first. */
const mainWith = (value: string | undefined) => `
${value === undefined ? 'delete process.env.GC_AGENT_V8_FOOTPRINT;' : `process.env.GC_AGENT_V8_FOOTPRINT = ${JSON.stringify(value)};`}
process.argv = [process.argv[0], 'agent', '--version'];
process.exit = () => {};
await import(${url('agent/main.ts')});`;

test('agent/main.ts with GC_AGENT_V8_FOOTPRINT=1 (the local stack of infra/up.sh) idles as the binary does and captures with the defaults', () => {
  const r = inNode(`${mainWith('1')}${idleCaptureAfter}`);
  assert.deepEqual(r, { idle: false, capturing: true, after: false });
});

test('agent/main.ts keeps V8 defaults without GC_AGENT_V8_FOOTPRINT, or with any value but 1', () => {
  for (const value of [undefined, '', '0', 'true', '1 ', '\u0000', '\ud800', 'x'.repeat(100_000)]) {
    assert.deepEqual(inNode(`${mainWith(value)} report({ plain: optimized() });`), { plain: true }, `GC_AGENT_V8_FOOTPRINT=${JSON.stringify(value?.slice(0, 20))}`);
  }
});
