import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { readCapped } from '../../services/dashboard/src/viewer/read-capped.js';

/** An endless stream of 64 KiB chunks that counts what was pulled and whether it was cancelled. */
function endless() {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      seen.pulled++;
      c.enqueue(new Uint8Array(65536));
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

test('a stream longer than the cap is cancelled once past it, and nothing is returned (an endless one too)', async () => {
  const { stream, seen } = endless();
  assert.equal(await readCapped(stream, 1_000_000), undefined);
  assert.equal(seen.cancelled, true);
  // 1,000,000 bytes fit in 16 chunks: the 16th passes the cap; a read-ahead may have pulled one or two more.
  assert.ok(seen.pulled >= 16 && seen.pulled <= 18, `pulled ${seen.pulled} chunks`);
});

test('a DEFLATE bomb (64 MiB of zeros from ~64 KiB) inflates no further than the tile it claims to be', async () => {
  const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024));
  assert.ok(bomb.byteLength < 100_000);
  const stream = new Blob([bomb]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  assert.equal(await readCapped(stream, 64 * 64 * 4), undefined);
});

test('a stream within the cap comes back whole, byte for byte, across chunks; exactly the cap is within it', async () => {
  const px = Uint8Array.from({ length: 64 * 64 * 4 }, (_, i) => (i * 7) % 256);
  const stream = new Blob([deflateRawSync(px)]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  assert.deepEqual(await readCapped(stream, px.length), px);
  const empty = new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  assert.deepEqual(await readCapped(empty, 0), new Uint8Array(0));
});

test('a stream that fails (corrupt DEFLATE) gives nothing, not an exception', async () => {
  const stream = new Blob([new Uint8Array([0xff, 0xff, 0xff, 0xff])]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  assert.equal(await readCapped(stream, 1024), undefined);
});
