/**
 * Starts a gateway: configuration, connections, the app from buildApp, and listen. Its own process
 * (server.ts) or one half of the local stack's shared server process (infra/launcher/server.ts);
 * either way it holds its own NATS connection and Postgres pool.
 */
import { jetstream } from '@nats-io/jetstream';
import type { DestinationStream } from 'pino';
import { connectBus } from '../../proto/bus/connect.js';
import { natsCaFromEnv } from '../../proto/bus/nats-ca.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import { type Logger, createLogger } from '../../proto/log/logger.js';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { withAuth } from './access-auth.js';
import { buildApp } from './app.js';
import { loadEventIds } from './bus/event-ids.js';
import { openGatewayBus } from './bus/gateway-bus.js';
import { loadGatewayConfig } from './config.js';
import { startPresenceWatchdog } from './presence-watchdog.js';
import { listenReadModels } from './read/notifications.js';

export interface RunningGateway {
  readonly address: string;
  readonly log: Logger;
  /** Closes the app (and its bus and notifications), drains NATS, ends the pool. */
  stop(): Promise<void>;
}

/** Starts a gateway from `env` (throws on an invalid configuration, naming the setting); logs to `destination` (default stdout). */
export async function startGateway(env: NodeJS.ProcessEnv = process.env, opts: { destination?: DestinationStream } = {}): Promise<RunningGateway> {
  const config = loadGatewayConfig(env);
  const log = createLogger({ name: 'gateway', level: config.logLevel, destination: opts.destination });
  const db = openDb({ url: config.databaseUrl, max: 10, applicationName: 'gc-gateway' });
  await migrateToLatest(db);
  // Its own inbox tree comes from its credentials (connectBus): replies to the gateway are never readable by an agent.
  // TLS verified against NATS_CA (the launcher sets it); proto/bus/connect.ts decides, never plain text off loopback.
  const natsCa = natsCaFromEnv(env);
  if (!natsCa.ok) throw new Error(`invalid gateway configuration: ${natsCa.error.message}`);
  const nc = await connectBus({ servers: config.natsUrl, name: 'gateway', credsFile: config.natsCreds, caFile: natsCa.value });
  const js = jetstream(nc);
  // The enrollment service holds the account signing key; on one machine that is the gateway.
  const issuer = config.natsAuthDir ? await prepareNatsAuth(config.natsAuthDir, { caFile: natsCa.value }) : undefined;
  const notes: string[] = [];
  const eventIds = await loadEventIds(config.eventIdKeyFile, (m) => notes.push(m));
  if (!eventIds.ok) throw new Error(`invalid gateway configuration: ${eventIds.error.message}`);
  for (const n of notes) log.warn(n);
  const gw = await buildApp({
    config,
    db,
    bus: openGatewayBus(nc, js, { offlineAfterBeats: config.offlineAfterBeats, denialFoldMs: config.denialFoldMs, eventIds: eventIds.value, log }),
    notifications: listenReadModels(config.databaseUrl, (m) => log.warn(m)),
    auth: withAuth({
      cookieSecure: config.secureCookies,
      mfa: { requiredRoles: config.mfaRequiredRoles },
      sessionCacheMs: config.authCacheMs,
      enrollment: issuer ? { issuer, natsUrl: config.natsUrl } : undefined,
    }),
    logger: log,
  });
  const watchdog = startPresenceWatchdog(db, js, { offlineAfterBeats: config.offlineAfterBeats, eventIds: eventIds.value, log: (m) => log.info(m) });
  const address = await gw.app.listen({ port: config.port, host: config.host });
  log.info(`gateway listening on ${address}`);
  return {
    address,
    log,
    async stop() {
      watchdog.stop();
      await gw.app.close();
      await nc.drain().catch(() => {});
      await db.destroy();
    },
  };
}
