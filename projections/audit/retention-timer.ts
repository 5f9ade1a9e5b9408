/** Runs the audit retention in the projections process: at start, then every interval. */
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import type { AuditRetentionConfig } from './retention-config.js';
import { pruneAudit } from './retention-prune.js';

export interface RetentionTimer {
  /** Stops the timer and waits for a run in progress to finish its current transaction. */
  stop(): Promise<void>;
}

/** Starts periodic pruning (nothing when days is 0); results and errors go to `log`. */
export function startAuditRetention(db: Kysely<Database>, cfg: AuditRetentionConfig, log: (line: string) => void): RetentionTimer {
  if (cfg.days <= 0) return { stop: async () => {} };
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const stopping = new AbortController();
  const run = () => {
    // A run longer than the interval (a first prune of years of rows) is not started twice.
    if (busy) return;
    busy = true;
    running = pruneAudit(db, { olderThanDays: cfg.days, signal: stopping.signal })
      .then((r) => {
        if (!r.ok) log(`audit retention: ${r.error.message}`);
        else if (r.value.deleted > 0) log(`audit retention: deleted ${r.value.deleted} rows (seq ${r.value.fromSeq}..${r.value.throughSeq}) created before ${r.value.cutoff.toISOString()}`);
      })
      .finally(() => {
        busy = false;
      });
  };
  run();
  const t = setInterval(run, cfg.intervalMs);
  return {
    async stop() {
      clearInterval(t);
      stopping.abort();
      await running;
    },
  };
}
