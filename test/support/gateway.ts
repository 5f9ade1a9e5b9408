/**
 * The gateway built in this process (buildApp with the real auth plugin) over a private nats-server
 * and PostgreSQL, listening on a free loopback port: for tests that speak raw HTTP to it.
 */
import type { AddressInfo } from 'node:net';
import { type Gateway, buildApp } from '../../services/gateway/app.js';
import { createLogger } from '../../proto/log/logger.js';
import { withAuth } from '../../services/gateway/access-auth.js';
import { processEventIds } from '../../services/gateway/bus/event-ids.js';
import { openGatewayBus } from '../../services/gateway/bus/gateway-bus.js';
import { listenReadModels } from '../../services/gateway/read/notifications.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import type { Role } from '../../services/auth/roles.js';
import { createUser } from '../../services/auth/users.js';
import { type Backbone, startBackbone } from './servers.js';

export interface TestGateway {
  gw: Gateway;
  backbone: Backbone;
  url: string;
  port: number;
  /** Creates a technician and returns a bearer token for them. */
  userToken(name: string, role: Role): Promise<string>;
  stop(): Promise<void>;
}

export const TEST_PASSWORD = 'correct horse battery';

/** `config`: settings over the defaults (a sweep that must reach every handler lifts a rate limit). */
export async function startTestGateway(opts: { dashboard?: boolean; config?: Record<string, unknown> } = {}): Promise<TestGateway> {
  const backbone = await startBackbone();
  const config = gatewayConfigSchema.parse({ natsUrl: backbone.nats.url, databaseUrl: backbone.pgs.url, port: 0, ...opts.config });
  const gw = await buildApp({
    config,
    db: backbone.db,
    bus: openGatewayBus(backbone.nc, backbone.js, {
      offlineAfterBeats: config.offlineAfterBeats,
      denialFoldMs: config.denialFoldMs,
      eventIds: processEventIds(),
      log: createLogger({ name: 'gateway', level: 'silent' }),
    }),
    notifications: listenReadModels(config.databaseUrl, () => {}),
    auth: withAuth({ cookieSecure: false }),
    dashboard: opts.dashboard ?? false,
  });
  await gw.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (gw.app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    gw,
    backbone,
    url,
    port,
    async userToken(name, role) {
      const r = await createUser(backbone.db, { name, role, password: TEST_PASSWORD });
      if (!r.ok) throw new Error(r.error.message);
      const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: TEST_PASSWORD }) });
      if (!res.ok) throw new Error(`login as ${name}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async stop() {
      await gw.app.close();
      await backbone.stop();
    },
  };
}
