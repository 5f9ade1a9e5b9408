/**
 * The projection worker process: one durable consumer per read model, each writing its rows and its
 * checkpoint in one transaction. Stateless: run several processes and each projection still has a
 * single ordered consumer (the durable is shared, ordered by the server).
 */
import { connectBus } from '../proto/bus/connect.js';
import { natsCaFromEnv } from '../proto/bus/nats-ca.js';
import { openDb } from '../infra/db/connect.js';
import { migrateToLatest } from '../infra/db/migrate.js';
import { createLogger, logLevelSchema } from '../proto/log/logger.js';
import { projections } from './all.js';
import { auditRetentionConfig } from './audit/retention-config.js';
import { startAuditRetention } from './audit/retention-timer.js';
import { startProjection } from './runtime/start-projection.js';

const logger = createLogger({ name: 'projections', level: logLevelSchema.catch('info').parse(process.env.GC_LOG_LEVEL || 'info') });
const log = (m: string) => logger.info(m);
const natsUrl = process.env.NATS_URL ?? 'tls://127.0.0.1:4222';
const natsCa = natsCaFromEnv(process.env);
if (!natsCa.ok) {
  logger.fatal(natsCa.error.message);
  process.exit(2);
}
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  logger.fatal('DATABASE_URL is required (postgres://user@host:port/db)');
  process.exit(2);
}
const only = process.env.GC_PROJECTIONS?.split(',').filter(Boolean);
const retention = auditRetentionConfig(process.env);
if (!retention.ok) {
  logger.fatal(retention.error.message);
  process.exit(2);
}

const db = openDb({ url: databaseUrl, max: projections.length + 1, applicationName: 'gc-projections' });
await migrateToLatest(db);
const nc = await connectBus({ servers: natsUrl, name: 'projections', credsFile: process.env.NATS_CREDS || undefined, caFile: natsCa.value });
const workers = await Promise.all(projections.filter((p) => !only || only.includes(p.name)).map((p) => startProjection(p, { nc, db, log })));
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

const shutdown = async () => {
  clearInterval(report);
  await pruning.stop();
  await Promise.all(workers.map((w) => w.stop()));
  await nc.drain().catch(() => {});
  await db.destroy();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
