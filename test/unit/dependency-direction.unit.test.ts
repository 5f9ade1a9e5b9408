/**
 * The dependency direction of ARCHITECTURE.md, checked on the source: `agent/` imports only `agent/`
 * and `proto/` (it ships alone to managed machines), `proto/` imports nothing of ours outside
 * `proto/`. Every import, re-export, `import()` and `require()` specifier of every .ts file is read
 * with TypeScript's own pre-processor, so a line break or a dynamic import cannot hide one.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const repo = resolve(import.meta.dirname, '..', '..');

/** Every .ts file under `dir` (repo-relative), generated code included. */
function tsFiles(dir: string): string[] {
  return readdirSync(join(repo, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(repo, join(e.parentPath, e.name)));
}

/** The module specifiers `source` names (static, type-only, re-exports, `import()`, `require()`). */
function specifiers(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** The first top-level folder of our repo a relative specifier of `file` lands in; undefined for packages (`zod`, `node:fs`). */
function folderOf(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const target = relative(repo, resolve(repo, dirname(file), spec));
  return target.startsWith('..') ? '(outside the repo)' : (target.split(sep)[0] ?? '');
}

/** `file: specifier` for each import of `files` that lands outside `allowed`. */
function crossings(files: readonly string[], allowed: readonly string[], read = (f: string) => readFileSync(join(repo, f), 'utf8')): string[] {
  return files.flatMap((f) =>
    specifiers(read(f))
      .filter((s) => {
        const folder = folderOf(f, s);
        return folder !== undefined && !allowed.includes(folder);
      })
      .map((s) => `${f}: ${s}`),
  );
}

describe('dependency direction (ARCHITECTURE.md)', () => {
  it('the checker sees every kind of import and tells packages from our folders', () => {
    const src = [
      "import { a } from '../../infra/bus/x.js';",
      "import type { B } from\n  '../../services/y.js';",
      "export { c } from '../../projections/z.js';",
      "const d = await import('../../test/support/w.js');",
      "const e = require('../../infra/q.js');",
      "import { ok } from '../../proto/errors.js';",
      "import { z } from 'zod';",
      "import { readFileSync } from 'node:fs';",
      "import { f } from './sibling.js';",
    ].join('\n');
    assert.deepEqual(
      crossings(['agent/runtime/fake.ts'], ['agent', 'proto'], () => src),
      [
        'agent/runtime/fake.ts: ../../infra/bus/x.js',
        'agent/runtime/fake.ts: ../../services/y.js',
        'agent/runtime/fake.ts: ../../projections/z.js',
        'agent/runtime/fake.ts: ../../test/support/w.js',
        'agent/runtime/fake.ts: ../../infra/q.js',
      ],
    );
    assert.deepEqual(
      crossings(['proto/bus/fake.ts'], ['proto'], () => "import { x } from '../../agent/config.js';\nimport { y } from '../../../etc/z.js';"),
      ['proto/bus/fake.ts: ../../agent/config.js', 'proto/bus/fake.ts: ../../../etc/z.js'],
    );
  });

  it('agent/ imports only agent/ and proto/ (it ships alone)', () => {
    const files = tsFiles('agent');
    // The walk reaches the files that matter: an empty list would pass vacuously.
    assert.ok(files.includes(join('agent', 'run-agent.ts')) && files.includes(join('agent', 'platform', 'windows', 'wts.ts')), files.join(', '));
    assert.deepEqual(crossings(files, ['agent', 'proto']), []);
  });

  it('proto/ imports nothing of ours outside proto/', () => {
    const files = tsFiles('proto');
    assert.ok(files.includes(join('proto', 'subjects.ts')) && files.includes(join('proto', 'bus', 'connect.ts')), files.join(', '));
    assert.deepEqual(crossings(files, ['proto']), []);
  });
});
