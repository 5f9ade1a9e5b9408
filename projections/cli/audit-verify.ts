/** `audit verify`: Postgres audit rows against the stream and the hash chain; exit 1 on any finding. */
import { parseArgs } from 'node:util';
import { DEFAULT_GRACE_MS, verifyAudit } from '../audit/verify.js';
import { progressBar } from '../runtime/progress.js';
import { cliDeps } from './env.js';

/**
 * Longest --grace-ms taken: an hour. A checkpoint that has not caught up by then is a stuck projection
 * (the finding says so); 2^63-1 made verify wait, in effect, forever on one.
 */
export const MAX_GRACE_MS = 3_600_000;

/** --grace-ms from argv (undefined: the default), or the error line. */
export function graceMsArg(argv: string[]): number | undefined | Error {
  try {
    const g = parseArgs({ args: argv, options: { 'grace-ms': { type: 'string' } } }).values['grace-ms'];
    if (g === undefined) return undefined;
    const n = g.trim() === '' ? Number.NaN : Number(g);
    return Number.isInteger(n) && n >= 0 && n <= MAX_GRACE_MS ? n : new Error(`--grace-ms must be a whole number of milliseconds from 0 to ${MAX_GRACE_MS}, not ${g}`);
  } catch (e) {
    return e as Error;
  }
}

/** CLI entry; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const graceMs = graceMsArg(argv);
  if (graceMs instanceof Error) {
    process.stderr.write(`${graceMs.message}\nusage: audit verify [--grace-ms N]  (default ${DEFAULT_GRACE_MS}: how long the audit checkpoint may lag the stream)\n`);
    return 2;
  }
  const deps = await cliDeps('gc-audit-verify', true);
  if (typeof deps === 'string') {
    process.stderr.write(`${deps}\n`);
    return 2;
  }
  try {
    let bar: ReturnType<typeof progressBar> | undefined;
    const r = await verifyAudit(deps.nc, deps.db!, {
      graceMs,
      api: deps.eventsApi,
      onProgress: (seq, last) => {
        bar ??= progressBar('verify', last);
        bar.update(seq);
      },
    });
    bar?.finish();
    for (const f of r.findings) process.stdout.write(`${f.kind.padEnd(15)} ${f.id}  ${f.detail}\n`);
    const latest = r.anchors.at(-1);
    if (latest) {
      const pruned = r.anchors.reduce((n, a) => n + a.deletedCount, 0);
      process.stderr.write(
        `retention: ${r.anchors.length} prune runs deleted ${pruned} rows through seq ${latest.throughSeq}; the latest ran ${latest.ranAt.toISOString()} with cutoff ${latest.cutoff.toISOString()}\n`,
      );
    }
    for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
    process.stderr.write(`${r.rowsChecked} rows checked up to seq ${r.checkpoint}: ${r.findings.length === 0 ? 'OK' : `${r.findings.length} findings`}\n`);
    return r.findings.length === 0 ? 0 : 1;
  } finally {
    await deps.close();
  }
}
