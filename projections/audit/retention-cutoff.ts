/**
 * Which audit rows retention may delete: only a prefix of the hash chain. Rows are in `seq` order
 * but `created_at` is the time of the fact (a command row carries its request's time, a late row an
 * old one), so it is not monotonic: an old row behind a recent one stays until the recent one goes,
 * and the chain never gets a hole.
 */

/**
 * Most days a retention may name: about 2,700 years, well inside what JavaScript dates and
 * PostgreSQL timestamps hold. Beyond it the cutoff was an Invalid Date (or before 4713 BC), and a
 * prune failed in Postgres as READ_MODEL_UNAVAILABLE instead of being refused for its argument.
 */
export const MAX_RETENTION_DAYS = 1_000_000;

/** The cutoff `days` before `now` (fractions allowed). */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 86_400_000);
}

/** How many leading rows (in seq order) were created before `cutoff`: the prefix retention may delete. */
export function prunablePrefix(rows: readonly { created_at: Date }[], cutoff: Date): number {
  const limit = cutoff.getTime();
  const i = rows.findIndex((r) => r.created_at.getTime() >= limit);
  return i < 0 ? rows.length : i;
}
