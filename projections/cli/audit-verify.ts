/** `audit verify`: Postgres audit rows against the stream and the hash chain; exit 1 on any finding. */
import { parseArgs } from 'node:util';
import { DEFAULT_GRACE_MS, type VerifyResult, verifyAudit } from '../audit/verify.js';
import { progressBar } from '../runtime/progress.js';
import { cliDeps } from './env.js';

/** What `--json` prints: the result in the snake_case of the API and of `audit replay --json`. */
export function verifyReport(r: VerifyResult) {
  return {
    ok: r.findings.length === 0,
    rows_checked: r.rowsChecked,
    checkpoint: r.checkpoint,
    stream_first_seq: r.streamFirstSeq,
    unverifiable: r.unverifiable,
    findings: r.findings,
    anchors: r.anchors.map((a) => ({
      from_seq: a.fromSeq,
      through_seq: a.throughSeq,
      last_deleted_hash: a.lastDeletedHash,
      cutoff: a.cutoff.toISOString(),
      deleted_count: a.deletedCount,
      ran_at: a.ranAt.toISOString(),
    })),
    notes: r.notes,
  };
}

/**
 * Longest --grace-ms taken: an hour. A checkpoint that has not caught up by then is a stuck projection
 * (the finding says so); 2^63-1 made verify wait, in effect, forever on one.
 */
export const MAX_GRACE_MS = 3_600_000;

/** The options from argv (graceMs undefined: the default), or the error line. */
export function verifyArgs(argv: string[]): { graceMs: number | undefined; json: boolean } | Error {
  try {
    const { values } = parseArgs({ args: argv, options: { 'grace-ms': { type: 'string' }, json: { type: 'boolean' } } });
    const json = values.json ?? false;
    const g = values['grace-ms'];
    if (g === undefined) return { graceMs: undefined, json };
    const n = g.trim() === '' ? Number.NaN : Number(g);
    return Number.isInteger(n) && n >= 0 && n <= MAX_GRACE_MS ? { graceMs: n, json } : new Error(`--grace-ms must be a whole number of milliseconds from 0 to ${MAX_GRACE_MS}, not ${g}`);
  } catch (e) {
    return e as Error;
  }
}

/** CLI entry; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = verifyArgs(argv);
  if (args instanceof Error) {
    process.stderr.write(`${args.message}\nusage: audit verify [--grace-ms N] [--json]  (--grace-ms default ${DEFAULT_GRACE_MS}: how long the audit checkpoint may lag the stream)\n`);
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
      graceMs: args.graceMs,
      api: deps.eventsApi,
      onProgress: (seq, last) => {
        bar ??= progressBar('verify', last);
        bar.update(seq);
      },
    });
    bar?.finish();
    if (args.json) {
      // One object on stdout for a script or an archive of the check; the exit code says the same.
      process.stdout.write(`${JSON.stringify(verifyReport(r))}\n`);
      return r.findings.length === 0 ? 0 : 1;
    }
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
