/** Agent enrollment (authenticated by an enrollment key) and revocation (admin). */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ErrorCode } from '../../proto/errors.js';
import { enrollAgent, revokeEnrolledAgent } from './enrollment.js';
import { type AuthPluginOptions, loggedAudit } from './options.js';
import { createRateLimiter } from './rate-limit.js';
import { sendError } from './reply.js';
import { agentParamsSchema, enrollBodySchema, enrollReplySchema, errorReplies, revokeAgentReplySchema } from './schemas.js';

export const agentRoutes: FastifyPluginAsync<AuthPluginOptions> = async (root, opts) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { db, audit } = opts;
  const enroll = opts.enrollment;
  const perIp = createRateLimiter({ max: 30, windowMs: 60_000 });
  const tags = ['agents'];
  const unavailable = 'agent enrollment is not configured on this gateway (no NATS auth setup)';

  app.post(
    '/api/agents/enroll',
    {
      schema: { tags, summary: 'Enroll an agent with an enrollment key; returns its NATS credentials once', body: enrollBodySchema, response: { 200: enrollReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      if (!enroll) return sendError(reply, ErrorCode.NOT_AVAILABLE, unavailable);
      const wait = perIp.hit(req.ip);
      if (wait) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        return sendError(reply, ErrorCode.RATE_LIMITED, 'too many enrollment attempts from this address');
      }
      const r = await enrollAgent(db, enroll.issuer, req.body);
      if (!r.ok) {
        await loggedAudit(
          audit,
          req.log,
        )({ eventType: 'agent_enroll_failed', agentId: undefined, details: { agent_id: req.body.agent_id, hostname: req.body.hostname, ip: req.ip, reason: r.error.message } });
        return sendError(reply, r.error.code, r.error.message);
      }
      await loggedAudit(audit, req.log)({ eventType: 'agent_enrolled', agentId: r.value.agent_id, details: { hostname: req.body.hostname, site: r.value.site, ip: req.ip } });
      return { agent_id: r.value.agent_id, creds: r.value.creds, nats_url: enroll.natsUrl, site: r.value.site, ...(r.value.nats_ca ? { nats_ca: r.value.nats_ca } : {}) };
    },
  );

  app.post(
    '/api/agents/:agentId/revoke',
    {
      preHandler: app.requireRole('admin'),
      schema: { tags, summary: 'Revoke an agent: its NATS users are cut off at once and cannot reconnect', params: agentParamsSchema, response: { 200: revokeAgentReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      if (!enroll) return sendError(reply, ErrorCode.NOT_AVAILABLE, unavailable);
      const r = await revokeEnrolledAgent(db, enroll.issuer, req.params.agentId, enroll.natsServers ?? enroll.natsUrl);
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'agent_revoked', actor: req.user ?? undefined, agentId: req.params.agentId, details: { revoked_keys: r.value.revokedKeys } });
      return { agent_id: req.params.agentId, revoked_keys: r.value.revokedKeys };
    },
  );
};
