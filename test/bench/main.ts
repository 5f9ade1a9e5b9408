/**
 * `npm run bench`: runs every benchmark module in test/bench (or the ones named on the command
 * line), prints each figure beside its baseline, and writes docs/BENCHMARKS.md with the machine.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchRow, BenchRun } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
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
  console.log(`\n[${i + 1}/${modules.length}] ${name}`);
  const t0 = Date.now();
  try {
    const mod = (await import(pathToFileURL(join(here, f)).href)) as { run: BenchRun };
    const rows = await mod.run((msg) => console.log(`  … ${msg}`));
    results.push({ module: name, rows, seconds: (Date.now() - t0) / 1000 });
    for (const r of rows) console.log(`  ${r.figure}: ${r.value}\n      vs ${r.baseline}: ${r.baselineValue}${r.note ? `\n      ${r.note}` : ''}`);
  } catch (e) {
    console.error(`  FAILED: ${(e as Error).stack ?? e}`);
    results.push({ module: name, rows: [], error: (e as Error).message, seconds: (Date.now() - t0) / 1000 });
  }
}

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
if (only.length === 0) writeFileSync(join(here, '..', '..', 'docs', 'BENCHMARKS.md'), `${md}\n`);
else console.log(`\n(partial run: docs/BENCHMARKS.md not rewritten)\n\n${md}`);
process.exit(results.some((r) => r.error) ? 1 : 0);
