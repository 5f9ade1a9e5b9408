/** A tiny gateway for the auth tests: the auth plugin with the gateway's envelope handler, an operator route, a machine-access route and one WebSocket route. */
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { type AuditEvent, type AuthPluginOptions, authPlugin } from '../../services/auth/plugin.js';
import { installErrorHandler } from '../../services/gateway/errors.js';

/** Builds it over `db`; audited events go to `audits`; the WebSocket at `wsPath` answers the caller's name. */
export async function buildAuthApp(db: Kysely<Database>, audits: AuditEvent[], extra: Partial<AuthPluginOptions> = {}, wsPath = '/ws'): Promise<FastifyInstance> {
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // The host's envelope handler, as in the gateway (the auth routes have none of their own).
  installErrorHandler(app);
  await app.register(websocket);
  await app.register(authPlugin, {
    db,
    audit: async (ev) => {
      audits.push(ev);
    },
    ...extra,
  });
  app.post('/api/machines/:agentId/backstage', { preHandler: app.requireRole('admin', 'operator') }, async () => ({ ran: true }));
  // What the gateway asks before every command and viewer: may the caller reach this machine?
  app.get('/api/machines/:agentId/access', { preHandler: app.requireRole('admin', 'operator', 'viewer') }, async (req) => ({
    allowed: req.user ? await app.canAccessMachine(req.user, (req.params as { agentId: string }).agentId) : false,
  }));
  app.get(wsPath, { websocket: true }, (socket, req) => {
    socket.send(req.user?.name ?? 'anonymous');
  });
  await app.ready();
  return app;
}
