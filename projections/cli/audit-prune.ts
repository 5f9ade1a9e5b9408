/** `audit prune [--older-than-days N]`: the Postgres audit retention, once, now; prints what it deleted. */
import { parseArgs } from 'node:util';
import { migrateToLatest } from '../../infra/db/migrate.js';
import { auditRetentionConfig } from '../audit/retention-config.js';
import { MAX_RETENTION_DAYS } from '../audit/retention-cutoff.js';
import { type PruneOutcome, pruneAudit } from '../audit/retention-prune.js';
import { cliDb } from './env.js';

const usage = 'usage: audit prune [--older-than-days N]   (default: GC_AUDIT_RETENTION_DAYS)';

/** Days from argv, else from GC_AUDIT_RETENTION_DAYS; an error message when neither gives a number > 0. */
export function pruneDays(argv: string[], env: NodeJS.ProcessEnv = process.env): number | string {
  let given: string | undefined;
  try {
    given = parseArgs({ args: argv, options: { 'older-than-days': { type: 'string' } } }).values['older-than-days'];
  } catch (e) {
    return (e as Error).message;
  }
  if (given !== undefined) {
    const n = given.trim() === '' ? Number.NaN : Number(given);
    return Number.isFinite(n) && n > 0 && n <= MAX_RETENTION_DAYS ? n : `--older-than-days must be a number of days > 0 and <= ${MAX_RETENTION_DAYS}, not "${given}"`;
  }
  const cfg = auditRetentionConfig(env);
  if (!cfg.ok) return cfg.error.message;
  return cfg.value.days > 0 ? cfg.value.days : 'nothing to do: give --older-than-days N or set GC_AUDIT_RETENTION_DAYS (unset or 0 keeps audit rows forever)';
}

/** What a prune did, in one paragraph. */
export function describePrune(r: PruneOutcome): string {
  const kept = r.firstKept ? `first kept row: seq ${r.firstKept.seq}, created ${r.firstKept.createdAt.toISOString()}` : 'no rows kept';
  if (r.deleted === 0) return `nothing to prune before ${r.cutoff.toISOString()}; ${kept}\n`;
  return (
    `deleted ${r.deleted} audit rows, seq ${r.fromSeq}..${r.throughSeq}, created before ${r.cutoff.toISOString()}\n` +
    `anchor: through seq ${r.throughSeq}, last deleted hash ${r.lastDeletedHash}\n${kept}\n`
  );
}

/** CLI entry; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const days = pruneDays(argv);
  if (typeof days === 'string') {
    process.stderr.write(`${days}\n${usage}\n`);
    return 2;
  }
  const deps = cliDb('gc-audit-prune');
  if (typeof deps === 'string') {
    process.stderr.write(`${deps}\n`);
    return 2;
  }
  try {
    await migrateToLatest(deps.db);
    const r = await pruneAudit(deps.db, { olderThanDays: days });
    if (!r.ok) {
      process.stderr.write(`${r.error.code}: ${r.error.message}\n`);
      return 1;
    }
    process.stdout.write(describePrune(r.value));
    return 0;
  } finally {
    await deps.close();
  }
}
