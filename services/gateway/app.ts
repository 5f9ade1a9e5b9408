/**
 * Builds the gateway app from its dependencies; it opens no connection of its own (the bus, the
 * read-model notifications and the logger are passed in), so server.ts only wires and listens, and
 * tests build it over fakes without a port and call app.inject() (test/int/gateway-inject.int.test.ts).
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { ErrorCode } from '../../proto/errors.js';
import { parseAgentId } from '../../proto/ids.js';
import type { Database } from '../../infra/db/schema.js';
import { type Logger, withCorrelation } from '../../proto/log/logger.js';
import type { Access } from './access.js';
import { createBackstageClient } from './backstage/backstage-client.js';
import type { AgentEvents } from './bus/agent-events.js';
import type { AuditPublisher } from './bus/audit-publisher.js';
import type { GatewayBus } from './bus/gateway-bus.js';
import { installWebSocketOriginCheck } from './browser-security.js';
import type { GatewayConfig } from './config.js';
import { envelope } from './errors.js';
import { createHttpEdge } from './http-edge.js';
import type { ReadModelNotifications } from './read/notifications.js';
import { auditRoutes } from './routes/audit.js';
import { commandRoutes } from './routes/commands.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { healthRoutes } from './routes/health.js';
import { machinesRoutes } from './routes/machines.js';
import { handleLiveSocket } from './ws/live-socket.js';
import { watchSignIn } from './ws/sign-in-watch.js';
import { installWebSocketHandshakeErrors, upgradeRequired } from './ws/upgrade-edge.js';
import { handleViewerSocket } from './ws/viewer-socket.js';

export interface GatewayDeps {
  config: GatewayConfig;
  db: Kysely<Database>;
  /** The gateway's side of NATS (bus/gateway-bus.ts openGatewayBus); buildApp closes it with the app. */
  bus: GatewayBus;
  /** The projections' commit notifications (read/notifications.ts listenReadModels); closed with the app. */
  notifications: ReadModelNotifications;
  /** Registers authentication on the app and returns what routes need to know about callers. */
  auth: (app: FastifyInstance, ctx: { audit: AuditPublisher; db: Kysely<Database> }) => Promise<Access>;
  /** The process logger (proto/log/logger.ts); none: silent. */
  logger?: Logger;
  /** Serve the dashboard (off in API-only tests to skip the bundle). */
  dashboard?: boolean;
}

export interface Gateway {
  app: FastifyInstance;
  events: AgentEvents;
  notifications: ReadModelNotifications;
  audit: AuditPublisher;
}

export async function buildApp(deps: GatewayDeps): Promise<Gateway> {
  const { config, db, bus, notifications } = deps;
  const { events, audit, commands } = bus;
  const app = createHttpEdge({ config, audit, logger: deps.logger });
  await app.register(swagger, {
    openapi: { info: { title: 'GuruConnect Sessions & Backstage API', version: '0.1.0' } },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  installWebSocketOriginCheck(app);
  installWebSocketHandshakeErrors(app);

  const backstage = createBackstageClient({ commands, maxTimeoutSecs: config.backstageMaxTimeoutSecs, defaultTimeoutSecs: 60, slackMs: 5000 });
  const access = await deps.auth(app, { audit, db });
  const routeDeps = { db, access, offlineAfterBeats: config.offlineAfterBeats };

  await app.register(healthRoutes, { db, busConnected: bus.connected, projectionLag: bus.projectionLag });
  await app.register(machinesRoutes, routeDeps);
  await app.register(auditRoutes, { db, access });
  await app.register(commandRoutes, { ...routeDeps, commands, events, backstage, audit, commandTimeoutMs: config.commandTimeoutMs, serverTiming: config.serverTiming });

  // Socket routes answer a plain request (no upgrade) with the envelope too (ws/upgrade-edge.ts).
  app.route({
    method: 'GET',
    url: '/ws/live',
    schema: { hide: true },
    handler: upgradeRequired,
    wsHandler: (socket, request) => {
      if (!access.wsActor(request)) {
        socket.send(JSON.stringify(envelope(ErrorCode.UNAUTHENTICATED, 'log in first', String(request.id))));
        return socket.close(4401, 'unauthenticated');
      }
      handleLiveSocket(socket, notifications);
      // Change notifications stop with the sign-in (logout, revoked or expired token): ws/sign-in-watch.ts.
      const signIn = watchSignIn(
        () => access.stillValid(request),
        () => socket.close(4401, 'sign-in ended'),
      );
      socket.on('close', () => signIn.stop());
    },
  });

  app.route({
    method: 'GET',
    url: '/ws/viewer/:agentId',
    schema: { hide: true },
    handler: upgradeRequired,
    wsHandler: async (socket, request) => {
      // The browser may speak as soon as the socket opens, while the checks below still wait on the
      // database: keep what it says and hand it to the viewer handler, or it would be lost.
      const early: [Buffer, boolean][] = [];
      const keep = (data: Buffer, isBinary: boolean) => early.push([data, isBinary]);
      socket.on('message', keep);
      const fail = (code: ErrorCode, message: string, close: number) => {
        socket.send(JSON.stringify({ t: 'error', ...envelope(code, message, String(request.id)) }));
        socket.close(close, code);
      };
      const actor = access.wsActor(request);
      if (!actor) return fail(ErrorCode.UNAUTHENTICATED, 'log in first', 4401);
      const id = parseAgentId((request.params as { agentId: string }).agentId);
      if (!id.ok) return fail(ErrorCode.INVALID_ID, id.error.message, 4400);
      if (!(await access.canAccessMachine(request, id.value))) return fail(ErrorCode.MACHINE_NOT_FOUND, `no machine ${id.value} (or no access to it)`, 4404);
      handleViewerSocket(socket, request, id.value, actor, {
        db,
        nc: bus.nc,
        commands,
        backstage,
        events,
        audit,
        access,
        offlineAfterBeats: config.offlineAfterBeats,
        commandTimeoutMs: config.commandTimeoutMs,
        controlPerSec: config.viewerControlPerSec,
        serverTiming: config.serverTiming,
        // The viewer's lines carry its viewer id (the correlation id of its errors); the upgrade's request id rides along.
        log: (viewerId) => withCorrelation(app.log as Logger, viewerId, { agent_id: id.value, upgrade_request_id: String(request.id) }),
      });
      socket.off('message', keep);
      for (const [data, isBinary] of early) socket.emit('message', data, isBinary);
    },
  });

  if (deps.dashboard !== false) await app.register(dashboardRoutes);

  app.addHook('onClose', async () => {
    await bus.close();
    await notifications.close();
  });
  return { app, events, notifications, audit };
}
