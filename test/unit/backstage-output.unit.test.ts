import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OutputChunk, OutputCollector, truncationMarker } from '../../agent/backstage/output-collector.js';

const enc = new TextEncoder();

test('a multi-byte character split across reads and flushes survives', () => {
  const chunks: OutputChunk[] = [];
  // coalesceBytes 1: every read is flushed at once, so every split point is a chunk boundary.
  const c = new OutputCollector({ encoding: 'utf-8', capBytes: 1 << 20, coalesceBytes: 1 }, (x) => chunks.push(x));
  const text = 'héllo wörld ✓ 日本語 🎉';
  for (const b of enc.encode(text)) c.push('stdout', Uint8Array.of(b));
  c.finish();
  const joined = chunks.map((x) => x.data).join('');
  assert.equal(joined, text);
  assert.ok(!joined.includes('\uFFFD'));
  assert.deepEqual(
    chunks.map((x) => x.seq),
    chunks.map((_, i) => i),
  );
  assert.equal(c.text('stdout'), text);
});

test('cap: emits at most capBytes, then one marker, counts everything', () => {
  const chunks: OutputChunk[] = [];
  const c = new OutputCollector({ encoding: 'utf-8', capBytes: 1024 }, (x) => chunks.push(x));
  for (let i = 0; i < 10; i++) c.push(i % 2 ? 'stderr' : 'stdout', new Uint8Array(300).fill(0x61));
  c.finish();
  const marker = truncationMarker(1024);
  assert.equal(marker, '\n[output truncated: 1 KB limit reached]\n');
  assert.equal(chunks.filter((x) => x.data === marker).length, 1);
  const payload = chunks.filter((x) => x.data !== marker).reduce((n, x) => n + x.data.length, 0);
  assert.equal(payload, 1024);
  assert.equal(chunks.at(-1)?.data, marker);
  assert.equal(c.producedBytes, 3000);
  assert.equal(c.truncated, true);
  assert.equal(c.text('stdout').length + c.text('stderr').length, 1024 + marker.length);
});

test('streams stay apart and coalesce until finish', () => {
  const chunks: OutputChunk[] = [];
  const c = new OutputCollector({ encoding: 'utf-8', capBytes: 1000, coalesceMs: 10_000 }, (x) => chunks.push(x));
  c.push('stdout', enc.encode('a'));
  c.push('stderr', enc.encode('E'));
  c.push('stdout', enc.encode('b'));
  assert.equal(chunks.length, 0);
  c.finish();
  assert.deepEqual(chunks, [
    { stream: 'stdout', data: 'ab', seq: 0 },
    { stream: 'stderr', data: 'E', seq: 1 },
  ]);
  c.push('stdout', enc.encode('late'));
  assert.equal(chunks.length, 2);
});

test('a non-UTF-8 encoding label decodes as that code page', () => {
  const chunks: OutputChunk[] = [];
  const c = new OutputCollector({ encoding: 'ibm866', capBytes: 1000 }, (x) => chunks.push(x));
  c.push('stdout', Uint8Array.of(0x8f, 0xe0, 0xa8, 0xa2, 0xa5, 0xe2)); // "Привет" in CP866
  c.finish();
  assert.equal(chunks[0]?.data, 'Привет');
});
