/** Admin-only routes: create technicians, grant machines, revoke tokens, manage enrollment keys. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ErrorCode } from '../../proto/errors.js';
import { createEnrollmentKey, revokeEnrollmentKey } from './enrollment.js';
import { type AuthPluginOptions, loggedAudit } from './options.js';
import { generatePassword } from './password.js';
import { sendError } from './reply.js';
import {
  createUserBodySchema,
  createUserReplySchema,
  enrollmentKeyBodySchema,
  enrollmentKeyReplySchema,
  errorReplies,
  grantBodySchema,
  grantParamsSchema,
  grantReplySchema,
  idParamsSchema,
  okReplySchema,
} from './schemas.js';
import { revokeToken } from './tokens.js';
import { createUser, grantMachine, revokeGrant } from './users.js';

export const adminRoutes: FastifyPluginAsync<AuthPluginOptions> = async (root, opts) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { db, audit } = opts;
  const adminOnly = app.requireRole('admin');
  const tags = ['users'];

  app.post(
    '/api/users',
    {
      preHandler: adminOnly,
      schema: { tags, summary: 'Create a technician (password generated when omitted)', body: createUserBodySchema, response: { 201: createUserReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const generated = req.body.password ? undefined : generatePassword();
      const r = await createUser(db, { name: req.body.name, role: req.body.role, password: req.body.password ?? generated ?? '' });
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'user_created', actor: req.user ?? undefined, details: { user_id: r.value.id, name: r.value.name, role: r.value.role } });
      return reply.code(201).send({ user: r.value, ...(generated ? { generated_password: generated } : {}) });
    },
  );

  app.post(
    '/api/users/:id/grants',
    {
      preHandler: adminOnly,
      schema: { tags, summary: "Grant a technician one machine, or every machine with '*'", params: idParamsSchema, body: grantBodySchema, response: { 201: grantReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const r = await grantMachine(db, req.params.id, req.body.agent_id);
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'machine_granted', actor: req.user ?? undefined, details: { ...r.value } });
      return reply.code(201).send(r.value);
    },
  );

  app.delete(
    '/api/users/:id/grants/:agentId',
    {
      preHandler: adminOnly,
      schema: { tags, summary: 'Remove a machine grant', params: grantParamsSchema, response: { 200: okReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const r = await revokeGrant(db, req.params.id, req.params.agentId);
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'machine_grant_revoked', actor: req.user ?? undefined, details: { user_id: req.params.id, agent_id: req.params.agentId } });
      return { ok: true as const };
    },
  );

  app.delete(
    '/api/auth/tokens/:id',
    {
      preHandler: adminOnly,
      schema: { tags: ['auth'], summary: 'Revoke a session token by id', params: idParamsSchema, response: { 200: okReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const r = await revokeToken(db, req.params.id);
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'token_revoked', actor: req.user ?? undefined, details: { token_id: req.params.id, user_id: r.value.userId } });
      return { ok: true as const };
    },
  );

  app.post(
    '/api/enrollment-keys',
    {
      preHandler: adminOnly,
      schema: { tags: ['agents'], summary: 'Create an agent enrollment key (shown once)', body: enrollmentKeyBodySchema, response: { 201: enrollmentKeyReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const k = await createEnrollmentKey(db, { site: req.body.site, reusable: req.body.reusable, ttlMs: req.body.ttl_hours * 3600_000, createdBy: req.user?.id });
      await loggedAudit(
        audit,
        req.log,
      )({ eventType: 'enrollment_key_created', actor: req.user ?? undefined, details: { key_id: k.id, site: k.site, reusable: k.reusable, expires_at: k.expiresAt.toISOString() } });
      return reply.code(201).send({ id: k.id, key: k.key, site: k.site, reusable: k.reusable, expires_at: k.expiresAt.toISOString() });
    },
  );

  app.delete(
    '/api/enrollment-keys/:id',
    {
      preHandler: adminOnly,
      schema: { tags: ['agents'], summary: 'Revoke an enrollment key', params: idParamsSchema, response: { 200: okReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const r = await revokeEnrollmentKey(db, req.params.id);
      if (!r.ok) return sendError(reply, ErrorCode.NOT_FOUND, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'enrollment_key_revoked', actor: req.user ?? undefined, details: { key_id: req.params.id } });
      return { ok: true as const };
    },
  );
};
