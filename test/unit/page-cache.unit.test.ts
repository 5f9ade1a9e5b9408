/**
 * The footprint bench starts the agent binary cold (test/support/page-cache.ts): the drop must
 * really empty the file's pages from the cache, or the figure would silently be a warm one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cachedShare, dropFromPageCache } from '../support/page-cache.js';

test('a file just written is cached; dropped it is not; read back it is again', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-page-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'blob');
  writeFileSync(file, Buffer.alloc(8 * 2 ** 20, 7));
  assert.equal(cachedShare(file), 1);
  dropFromPageCache(file);
  // tmpfs keeps its pages in memory whatever one advises: there the drop cannot be shown.
  const after = cachedShare(file);
  if (after === 1) return t.skip(`${tmpdir()} keeps files in memory (tmpfs)`);
  assert.equal(after, 0);
  readFileSync(file);
  assert.equal(cachedShare(file), 1);
});

test('an empty file has no pages to count; a missing one is an error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-page-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'empty'), '');
  assert.equal(cachedShare(join(dir, 'empty')), 0);
  dropFromPageCache(join(dir, 'empty'));
  assert.throws(() => cachedShare(join(dir, 'missing')), /ENOENT/);
});
