/**
 * infra/install-deps.sh is the one list of what the product and its tests run (issue 14): its
 * --check passes on this machine, and every program a .ts file runs by name is in that list or
 * is a base program every Debian machine with Node has.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(repo, 'infra', 'install-deps.sh');

/** Programs that need no entry: the shell, Node itself, and coreutils every Debian system has. */
const BASE_PROGRAMS = new Set([
  'sh',
  'bash',
  'node',
  'npm',
  'npx',
  'id',
  'mkdir',
  'chmod',
  'sleep',
  'env',
  'kill',
  // Run only where systemd is the init system, and then it is installed; elsewhere the agent uses `service`.
  'systemctl',
]);

/** The `bin` names of the DEPS list in install-deps.sh. */
function listedPrograms(): Set<string> {
  const text = readFileSync(script, 'utf8');
  const entries = [...text.matchAll(/^\s*"(bin|lib|file) (\S+) (\S+)( wine)?"\s*$/gm)];
  return new Set(entries.filter((m) => m[1] === 'bin').map((m) => m[2]!));
}

function* tsFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'generated') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tsFiles(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

// The execFile/spawn family and its wrappers (startChild in infra/servers, run in the Linux agent),
// with a literal program as first argument. A first argument with spaces is a command line for a
// shell (the Windows suite's run('echo hi')), not a program.
const EXEC_CALL = /\b(?:execFile|execFileSync|spawn|spawnSync|startChild|run)\(\s*(['"`])([^'"`\n]+)\1/g;

/** Program name -> the files that run it. */
function execedPrograms(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of tsFiles(repo)) {
    for (const m of readFileSync(file, 'utf8').matchAll(EXEC_CALL)) {
      const target = m[2]!;
      if (/\s/.test(target)) continue;
      const name = basename(target);
      found.set(name, [...new Set([...(found.get(name) ?? []), file.slice(repo.length + 1)])]);
    }
  }
  return found;
}

describe('install-deps.sh', () => {
  it('--check finds everything present on this machine (Wine suite included)', () => {
    const r = spawnSync('bash', [script, '--check'], { encoding: 'utf8', env: { ...process.env, GC_WITH_WINE: '1' } });
    assert.equal(r.status, 0, `install-deps.sh --check: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /all dependencies present/);
  });

  it('--check exits 1 naming each missing program and its package when PATH has none of them', () => {
    // A PATH with only what the script itself uses: every program found only through PATH is missing.
    const bin = mkdtempSync(join(tmpdir(), 'gc-deps-'));
    try {
      for (const tool of ['dirname', 'awk']) symlinkSync(spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bin, tool));
      const r = spawnSync('/bin/bash', [script, '--check'], { encoding: 'utf8', env: { PATH: bin, GC_WITH_WINE: '1' } });
      assert.equal(r.status, 1, r.stderr);
      for (const want of ['xdotool (xdotool)', 'Xvfb (xvfb)', 'chromium (chromium)', 'wine (wine)', 'stty (coreutils)']) assert.ok(r.stderr.includes(want), `${want} in: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /installing/);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('names every program a .ts file runs', () => {
    const listed = listedPrograms();
    const execed = execedPrograms();
    // The scan itself must see the tools we know are run, or it would prove nothing.
    for (const known of ['xdotool', 'Xvfb', 'xsetroot', 'stty']) assert.ok(execed.has(known), `scan finds ${known}`);
    const missing = [...execed].filter(([name]) => !listed.has(name) && !BASE_PROGRAMS.has(name)).map(([name, files]) => `${name} (${files.join(', ')})`);
    assert.deepEqual(missing, [], 'add these to DEPS in infra/install-deps.sh');
  });
});
