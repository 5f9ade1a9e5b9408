/**
 * `npm run bench`: runs every benchmark module in test/bench (or the ones named on the command
 * line), prints each figure beside its baseline, and writes docs/BENCHMARKS.md with the machine.
 * `npm run bench -- --json [module…]` prints every figure as one JSON line on stdout instead (progress
 * goes to stderr), so a script can check the goals; docs/BENCHMARKS.md is then left alone.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { jsonLine } from './json-line.js';
import type { BenchRow, BenchRun } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const only = args.filter((a) => a !== '--json');
// In --json mode stdout carries only the JSON lines; everything a human reads goes to stderr.
const say = json ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => console.log(line);
const emit = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
// A module that logs on its own must not break the one-line-per-figure contract.
if (json) console.log = console.error;
const modules = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && f !== 'load.bench.ts')
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const machine = [
  `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
  `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
  `Node ${process.version}`,
  (() => {
    try {
      return execFileSync('nats-server', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      return 'nats-server ?';
    }
  })(),
  'PostgreSQL 15 (fsync off for benchmarks)',
].join(', ');

const results: { module: string; rows: BenchRow[]; error?: string; seconds: number }[] = [];
for (const [i, f] of modules.entries()) {
  const name = f.replace('.bench.ts', '');
  say(`\n[${i + 1}/${modules.length}] ${name}`);
  const t0 = Date.now();
  try {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { run: BenchRun };
    const rows = await mod.run((msg) => say(`  … ${msg}`));
    results.push({ module: name, rows, seconds: (Date.now() - t0) / 1000 });
    for (const r of rows) {
      say(`  ${r.figure}: ${r.value}\n      vs ${r.baseline}: ${r.baselineValue}${r.note ? `\n      ${r.note}` : ''}`);
      if (json) emit(jsonLine(name, r));
    }
  } catch (e) {
    console.error(`  FAILED: ${(e as Error).stack ?? e}`);
    results.push({ module: name, rows: [], error: (e as Error).message, seconds: (Date.now() - t0) / 1000 });
  }
}

const writeMd = !json && only.length === 0;
const cell = (s: string) => s.replace(/\|/g, '\\|');
const md = [
  '# Benchmarks',
  '',
  `Latest \`npm run bench\`${only.length ? ` (${only.join(', ')})` : ''}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
  '',
  `Machine: ${machine}. Shared and noisy: figures vary run to run; each is measured beside its baseline in the same run.`,
  '',
  ...results.flatMap((r) => [
    `## ${r.module} (${r.seconds.toFixed(0)} s)`,
    '',
    ...(r.error
      ? [`Failed: ${r.error}`, '']
      : [
          '| figure | value | baseline | baseline value | note |',
          '|---|---|---|---|---|',
          ...r.rows.map((x) => `| ${cell(x.figure)} | ${cell(x.value)} | ${cell(x.baseline)} | ${cell(x.baselineValue)} | ${cell(x.note ?? '')} |`),
          '',
        ]),
  ]),
].join('\n');
if (writeMd) {
  const out = join(here, '..', '..', 'docs', 'BENCHMARKS.md');
  writeFileSync(out, `${md}\n`);
  // Aligned as the project's formatter aligns tables, so the recorded run passes `npm run check`.
  execFileSync(join(here, '..', '..', 'node_modules', '.bin', 'biome'), ['format', '--write', out], { stdio: 'ignore' });
} else if (!json) console.log(`\n(partial run: docs/BENCHMARKS.md not rewritten)\n\n${md}`);
else for (const r of results.filter((x) => x.error)) emit({ module: r.module, error: r.error });
process.exit(results.some((r) => r.error) ? 1 : 0);
