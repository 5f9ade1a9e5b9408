/**
 * The single-file agent idles without V8's optimizing compiler and the first capture turns it on
 * (agent/frames/optimizing-compiler.ts). Each case runs in its own Node started with the binary's
 * `--no-turbofan`, and asks V8 (natives syntax) whether a hot function got optimized.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { AGENT_V8_FLAGS } from '../../agent/binary/v8-footprint.js';

const repo = join(import.meta.dirname, '..', '..');
const url = (p: string) => JSON.stringify(pathToFileURL(join(repo, p)).href);

/**
 * Runs `setup` (module code) in a fresh Node with the agent's V8 flags, then makes a function hot and
 * prints whether V8 optimized it with TurboFan (bit 4 of %GetOptimizationStatus).
 */
function optimizedAfter(setup: string): boolean {
  const script = `${setup}
const status = new Function('f', 'return %GetOptimizationStatus(f)');
function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s = (s + a[i] * 31) | 0; return s; }
const a = new Int32Array(10000).fill(7);
for (let i = 0; i < 5000; i++) hot(a);
console.log((status(hot) & 16) !== 0 ? 'turbofan' : 'not optimized');`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', ...AGENT_V8_FLAGS, '--import', 'tsx', '--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
  return out.trim().split('\n').pop() === 'turbofan';
}

test('the binary starts without the optimizing compiler: a hot function stays unoptimized', () => {
  assert.ok(AGENT_V8_FLAGS.includes('--no-turbofan'));
  assert.equal(optimizedAfter(''), false);
});

test('ensureOptimizingCompiler turns it on (twice is the same as once)', () => {
  assert.equal(optimizedAfter(`const { ensureOptimizingCompiler } = await import(${url('agent/frames/optimizing-compiler.ts')}); ensureOptimizingCompiler(); ensureOptimizingCompiler();`), true);
});

test('starting a capture loop turns it on', () => {
  const setup = `const { startCaptureLoop } = await import(${url('agent/frames/capture-loop.ts')});
const desktop = { sessionId: 1, grab: async () => ({ ok: false, error: { code: 'INTERNAL', message: 'no screen' } }), mouse() {}, key() {}, clearClipboard() {}, close() {} };
const loop = startCaptureLoop(desktop, { fps: 1, quality: 50, epoch: () => 0, onFrame() {}, onError() {} });
loop.stop();`;
  assert.equal(optimizedAfter(setup), true);
});
