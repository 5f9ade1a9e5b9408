/**
 * Starts the projection workers: one durable consumer per read model, each writing its rows and its
 * checkpoint in one transaction. Stateless: run several processes and each projection still has a
 * single ordered consumer (the durable is shared, ordered by the server). Its own process (main.ts)
 * or one half of the local stack's shared server process (infra/launcher/server.ts); either way it
 * holds its own NATS connection and Postgres pool.
 */
import type { DestinationStream } from 'pino';
import { ErrorCode, type Result, err, ok } from '../proto/errors.js';
import { connectBus } from '../proto/bus/connect.js';
import { natsCaFromEnv } from '../proto/bus/nats-ca.js';
import { openDb } from '../infra/db/connect.js';
import { migrateToLatest } from '../infra/db/migrate.js';
import { type Logger, createLogger, logLevelSchema } from '../proto/log/logger.js';
import { projections } from './all.js';
import { auditRetentionConfig } from './audit/retention-config.js';
import { startAuditRetention } from './audit/retention-timer.js';
import { batchWaitFromEnv } from './runtime/batch-wait.js';
import { startProjection } from './runtime/start-projection.js';

export interface RunningProjections {
  readonly log: Logger;
  /** Stops the workers and the retention timer, drains NATS, ends the pool. */
  stop(): Promise<void>;
}

/** Starts the workers named in GC_PROJECTIONS (default all) from `env`; a bad setting is an error value, nothing started. */
export async function startProjections(env: NodeJS.ProcessEnv = process.env, opts: { destination?: DestinationStream } = {}): Promise<Result<RunningProjections>> {
  const logger = createLogger({ name: 'projections', level: logLevelSchema.catch('info').parse(env.GC_LOG_LEVEL || 'info'), destination: opts.destination });
  const log = (m: string) => logger.info(m);
  const natsUrl = env.NATS_URL ?? 'tls://127.0.0.1:4222';
  const natsCa = natsCaFromEnv(env);
  if (!natsCa.ok) return natsCa;
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) return err(ErrorCode.VALIDATION_FAILED, 'DATABASE_URL is required (postgres://user@host:port/db)');
  const only = env.GC_PROJECTIONS?.split(',').filter(Boolean);
  const retention = auditRetentionConfig(env);
  if (!retention.ok) return retention;
  const maxWaitMs = batchWaitFromEnv(env);
  if (!maxWaitMs.ok) return maxWaitMs;

  const db = openDb({ url: databaseUrl, max: projections.length + 1, applicationName: 'gc-projections' });
  await migrateToLatest(db);
  const nc = await connectBus({ servers: natsUrl, name: 'projections', credsFile: env.NATS_CREDS || undefined, caFile: natsCa.value });
  const workers = await Promise.all(projections.filter((p) => !only || only.includes(p.name)).map((p) => startProjection(p, { nc, db, log, maxWaitMs: maxWaitMs.value })));
  log(`running: ${workers.map((w) => w.name).join(', ')}`);
  // Postgres audit retention runs beside the audit worker (several processes may: the checkpoint lock serializes them).
  const auditRetention = workers.some((w) => w.name === 'audit') ? retention.value : { ...retention.value, days: 0 };
  const pruning = startAuditRetention(db, auditRetention, log);
  if (auditRetention.days > 0) log(`audit retention: rows created more than ${auditRetention.days} days ago are pruned at start and every ${auditRetention.intervalMs} ms`);

  const report = setInterval(() => {
    for (const w of workers) {
      const s = w.stats();
      if (s.lastError || s.undecodable || s.dbErrors || s.quarantined)
        logger.warn(
          `${s.name}: checkpoint ${s.checkpoint}, lag ${s.lag}, undecodable ${s.undecodable}, quarantined ${s.quarantined}, db errors ${s.dbErrors}${s.lastError ? `, last error: ${s.lastError}` : ''}`,
        );
    }
  }, 30_000);

  return ok({
    log: logger,
    async stop() {
      clearInterval(report);
      await pruning.stop();
      await Promise.all(workers.map((w) => w.stop()));
      await nc.drain().catch(() => {});
      await db.destroy();
    },
  });
}
