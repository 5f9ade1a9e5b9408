/** How long a projection worker lets a partial batch gather more events (GC_PROJECTION_BATCH_WAIT_MS). */
import { z } from 'zod';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';

/**
 * The default wait: a stored command brings its events within a few milliseconds of each other
 * (the command, the agent's answer, the session list a switch republishes). Committed one by one,
 * each is a transaction in every projection that reads it (checkpoint lock, rows, checkpoint
 * advance), about ten per switch, each waking Postgres while the next command is on its way through
 * the same two cores. Gathered for 10 ms they are one per projection (300 switches back to back on
 * the 2-core box, one noisy pair of runs: Postgres CPU per switch 2.5 ms at 0, 1.4 ms at 10). 10 ms
 * is 1% of the projection lag goal (p99 < 1 s). Under load the batches fill anyway.
 */
export const DEFAULT_BATCH_WAIT_MS = 10;
/** Past this a read model would visibly lag the live view for no gain in batching. */
export const MAX_BATCH_WAIT_MS = 1000;

const schema = z.object({ GC_PROJECTION_BATCH_WAIT_MS: z.coerce.number().int().min(0).max(MAX_BATCH_WAIT_MS).default(DEFAULT_BATCH_WAIT_MS) });

/** GC_PROJECTION_BATCH_WAIT_MS (0 commits at once: lowest lag, a transaction per event when idle). */
export function batchWaitFromEnv(env: NodeJS.ProcessEnv): Result<number> {
  const raw = env.GC_PROJECTION_BATCH_WAIT_MS;
  // An empty value is "not set", as for the other GC_ settings.
  const r = schema.safeParse({ GC_PROJECTION_BATCH_WAIT_MS: raw === '' ? undefined : raw });
  if (!r.success) return err(ErrorCode.VALIDATION_FAILED, `GC_PROJECTION_BATCH_WAIT_MS must be whole milliseconds from 0 to ${MAX_BATCH_WAIT_MS} (default ${DEFAULT_BATCH_WAIT_MS})`);
  return ok(r.data.GC_PROJECTION_BATCH_WAIT_MS);
}
