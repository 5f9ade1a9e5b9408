/**
 * The stack build's cache key (infra/launcher/build-stack.ts): a source change anywhere in the
 * hashed folders makes a new build, nothing outside them does, and the repository is found from
 * inside dist/stack/<hash>/ as from the source tree.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot, sourceHash } from '../../infra/launcher/build-stack.js';

describe('stack build cache key', () => {
  const repo = mkdtempSync(join(tmpdir(), 'gc-build-key-'));
  after(() => rmSync(repo, { recursive: true, force: true }));
  mkdirSync(join(repo, 'infra', 'launcher'), { recursive: true });
  mkdirSync(join(repo, 'agent', 'platform'), { recursive: true });
  writeFileSync(join(repo, 'package.json'), '{}');
  writeFileSync(join(repo, 'agent', 'platform', 'a.ts'), 'export const a = 1;\n');

  it('changes with a source file content, a new file or a moved one', () => {
    const h0 = sourceHash(repo);
    assert.match(h0, /^[0-9a-f]{20}$/);
    assert.equal(sourceHash(repo), h0, 'stable for the same sources');
    writeFileSync(join(repo, 'agent', 'platform', 'a.ts'), 'export const a = 2;\n');
    const h1 = sourceHash(repo);
    assert.notEqual(h1, h0);
    // Hostile names: NUL cannot be in a file name, but a lone surrogate's replacement and long names can.
    writeFileSync(join(repo, 'agent', `${'x'.repeat(200)}\u{fffd}.ts`), '');
    const h2 = sourceHash(repo);
    assert.notEqual(h2, h1);
    rmSync(join(repo, 'agent', `${'x'.repeat(200)}\u{fffd}.ts`));
    assert.equal(sourceHash(repo), h1, 'back to the same sources, back to the same build');
    writeFileSync(join(repo, 'package-lock.json'), '{"lockfileVersion":3}');
    assert.notEqual(sourceHash(repo), h1, 'a dependency change rebuilds');
  });

  it('ignores what is not a source: node_modules, dist, data, test', () => {
    const h = sourceHash(repo);
    for (const d of ['node_modules', join('agent', 'node_modules'), 'dist', 'data', 'test']) {
      mkdirSync(join(repo, d), { recursive: true });
      writeFileSync(join(repo, d, 'x.ts'), String(Math.random()));
    }
    assert.equal(sourceHash(repo), h);
  });

  it('finds the repository from the source tree and from a build directory', () => {
    mkdirSync(join(repo, 'dist', 'stack', '0123456789abcdef0123'), { recursive: true });
    assert.equal(repoRoot(join(repo, 'dist', 'stack', '0123456789abcdef0123')), repo);
    assert.equal(repoRoot(join(repo, 'infra', 'launcher')), repo);
    assert.throws(() => repoRoot(tmpdir()), /no repository/);
  });
});
