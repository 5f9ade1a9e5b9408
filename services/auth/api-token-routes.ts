/** Admin-only API token routes: POST /api/tokens (token shown once), GET /api/tokens, DELETE /api/tokens/:id. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { createApiTokenBodySchema, createApiTokenReplySchema, listApiTokensReplySchema } from './api-token-schemas.js';
import { createApiToken, listApiTokens, revokeApiToken } from './api-tokens.js';
import { type AuthPluginOptions, loggedAudit } from './options.js';
import { sendError } from './reply.js';
import { errorReplies, idParamsSchema, okReplySchema } from './schemas.js';

export const apiTokenRoutes: FastifyPluginAsync<AuthPluginOptions> = async (root, opts) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { db, audit } = opts;
  const adminOnly = app.requireRole('admin');
  const tags = ['tokens'];

  app.post(
    '/api/tokens',
    {
      preHandler: adminOnly,
      schema: {
        tags,
        summary: 'Create a named API token for a user or service account (the token is shown once)',
        body: createApiTokenBodySchema,
        response: { 201: createApiTokenReplySchema, ...errorReplies },
      },
    },
    async (req, reply) => {
      const r = await createApiToken(db, { name: req.body.name, userName: req.body.user, expiresInDays: req.body.expires_in_days, createdBy: req.user?.id });
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      const { id, token, user, expiresAt } = r.value;
      const expires_at = expiresAt ? expiresAt.toISOString() : null;
      await loggedAudit(
        audit,
        req.log,
      )({ eventType: 'api_token_created', actor: req.user ?? undefined, details: { token_id: id, token_name: req.body.name, user_id: user.id, user_name: user.name, expires_at } });
      return reply.code(201).send({ id, token, name: req.body.name, user: user.name, expires_at });
    },
  );

  app.get(
    '/api/tokens',
    {
      preHandler: adminOnly,
      schema: { tags, summary: 'List API tokens (never the tokens themselves)', response: { 200: listApiTokensReplySchema, ...errorReplies } },
    },
    async () => ({ tokens: await listApiTokens(db) }),
  );

  app.delete(
    '/api/tokens/:id',
    {
      preHandler: adminOnly,
      schema: { tags, summary: 'Revoke an API token; its next use answers TOKEN_REVOKED', params: idParamsSchema, response: { 200: okReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const r = await revokeApiToken(db, req.params.id);
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'api_token_revoked', actor: req.user ?? undefined, details: { token_id: r.value.id, token_name: r.value.name, user_id: r.value.userId } });
      return { ok: true as const };
    },
  );
};
