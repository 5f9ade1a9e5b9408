/** The gateway process: configuration, connections, the app from buildApp, and listen. */
import { jetstream } from '@nats-io/jetstream';
import { connectBus } from '../../infra/bus/connect.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import { inboxPrefixFor } from '../../infra/nats-auth/permissions.js';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { withAuth } from './access-auth.js';
import { buildApp } from './app.js';
import { loadEventIds } from './bus/event-ids.js';
import { loadGatewayConfig } from './config.js';
import { startPresenceWatchdog } from './presence-watchdog.js';

const config = loadGatewayConfig();
const db = openDb({ url: config.databaseUrl, max: 10, applicationName: 'gc-gateway' });
await migrateToLatest(db);
// Its own inbox tree (permissions.ts): replies to the gateway are never readable by an agent.
const nc = await connectBus({ servers: config.natsUrl, name: 'gateway', credsFile: config.natsCreds, inboxPrefix: inboxPrefixFor('gateway') });
const js = jetstream(nc);
// The enrollment service holds the account signing key; on one machine that is the gateway.
const authDir = process.env.GC_NATS_AUTH_DIR;
const issuer = authDir ? await prepareNatsAuth(authDir) : undefined;
const notes: string[] = [];
const eventIds = await loadEventIds(config.eventIdKeyFile, (m) => notes.push(m));
if (!eventIds.ok) throw new Error(`invalid gateway configuration: ${eventIds.error.message}`);
const gw = await buildApp({
  config,
  eventIds: eventIds.value,
  db,
  nc,
  js,
  auth: withAuth({ cookieSecure: config.secureCookies, mfa: { requiredRoles: config.mfaRequiredRoles }, enrollment: issuer ? { issuer, natsUrl: config.natsUrl } : undefined }),
  logger: { level: process.env.GC_LOG_LEVEL ?? 'info' },
});
for (const n of notes) gw.app.log.warn(n);
const watchdog = startPresenceWatchdog(db, js, { offlineAfterBeats: config.offlineAfterBeats, eventIds: eventIds.value, log: (m) => gw.app.log.info(m) });
const address = await gw.app.listen({ port: config.port, host: config.host });
gw.app.log.info(`gateway listening on ${address}`);

const shutdown = async () => {
  watchdog.stop();
  await gw.app.close();
  await nc.drain().catch(() => {});
  await db.destroy();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
