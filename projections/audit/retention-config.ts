/** The audit retention settings, read and validated once from the environment. */
import { z } from 'zod';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { MAX_RETENTION_DAYS } from './retention-cutoff.js';

const retentionEnv = z.object({
  /** Days of audit rows Postgres keeps; unset or 0 keeps every row forever. */
  GC_AUDIT_RETENTION_DAYS: z.coerce.number().min(0).max(MAX_RETENTION_DAYS).default(0),
  /** How often the projections process prunes (it also prunes at start). */
  // setInterval takes at most 2^31-1 ms; above it Node runs the prune every millisecond.
  GC_AUDIT_PRUNE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(2 ** 31 - 1)
    .default(3_600_000),
});

export interface AuditRetentionConfig {
  /** 0 = keep forever. */
  days: number;
  intervalMs: number;
}

/** Parses GC_AUDIT_RETENTION_DAYS and GC_AUDIT_PRUNE_INTERVAL_MS; the error says which is wrong. */
export function auditRetentionConfig(env: NodeJS.ProcessEnv = process.env): Result<AuditRetentionConfig> {
  const r = retentionEnv.safeParse(env);
  if (!r.success) {
    const what = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    return err(
      ErrorCode.VALIDATION_FAILED,
      `${what} (GC_AUDIT_RETENTION_DAYS is a number of days from 0 to ${MAX_RETENTION_DAYS}, 0 keeps audit rows forever; GC_AUDIT_PRUNE_INTERVAL_MS is milliseconds from 100 to 2147483647)`,
    );
  }
  return ok({ days: r.data.GC_AUDIT_RETENTION_DAYS, intervalMs: r.data.GC_AUDIT_PRUNE_INTERVAL_MS });
}
