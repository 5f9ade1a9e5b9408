/** POST /api/auth/login, POST /api/auth/logout, GET /api/auth/me. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ErrorCode } from '../../proto/errors.js';
import { sessionCookie } from './cookies.js';
import { createLogin } from './login.js';
import { type AuthPluginOptions, loggedAudit } from './options.js';
import { sendError } from './reply.js';
import { errorReplies, loginBodySchema, loginReplySchema, meReplySchema, okReplySchema } from './schemas.js';
import { revokeToken, tokenIds } from './tokens.js';

export const sessionRoutes: FastifyPluginAsync<AuthPluginOptions> = async (root, opts) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { db, audit } = opts;
  const secure = opts.cookieSecure ?? false;
  const login = createLogin(db, opts.login);

  app.post('/api/auth/login', {
    schema: { tags: ['auth'], summary: 'Sign in with name and password', body: loginBodySchema, response: { 200: loginReplySchema, ...errorReplies } },
  }, async (req, reply) => {
    const r = await login({ name: req.body.name, password: req.body.password, ip: req.ip });
    if (!r.ok) {
      const e = r.error;
      await loggedAudit(audit, req.log)({ eventType: 'login_failed', details: { name: req.body.name, ip: req.ip, reason: e.reason, user_id: e.userId ?? null } });
      if (e.reason === 'now_locked') await loggedAudit(audit, req.log)({ eventType: 'account_locked', details: { name: req.body.name, user_id: e.userId ?? null, ip: req.ip } });
      if (e.retryAfterMs) reply.header('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
      return sendError(reply, e.code, e.message);
    }
    const { user, token, expiresAt } = r.value;
    await loggedAudit(audit, req.log)({ eventType: 'login', actor: user, details: { ip: req.ip, token_id: r.value.tokenId } });
    reply.header('set-cookie', sessionCookie(token, Math.floor((expiresAt.getTime() - Date.now()) / 1000), secure));
    return { token, user, expires_at: expiresAt.toISOString() };
  });

  app.post('/api/auth/logout', {
    schema: { tags: ['auth'], summary: 'Revoke the token this request came with', response: { 200: okReplySchema, ...errorReplies } },
  }, async (req, reply) => {
    const tokenId = tokenIds.get(req);
    if (req.user?.api_token) return sendError(reply, ErrorCode.CONFLICT, 'an API token is not a session: an admin revokes it with DELETE /api/tokens/:id');
    if (!req.user || !tokenId) return sendError(reply, ErrorCode.UNAUTHENTICATED, 'not signed in');
    await revokeToken(db, tokenId);
    await loggedAudit(audit, req.log)({ eventType: 'logout', actor: req.user, details: { token_id: tokenId } });
    reply.header('set-cookie', sessionCookie('', 0, secure));
    return { ok: true as const };
  });

  app.get('/api/auth/me', {
    schema: { tags: ['auth'], summary: 'The signed-in technician', response: { 200: meReplySchema, ...errorReplies } },
  }, async (req, reply) => {
    if (!req.user) return sendError(reply, ErrorCode.UNAUTHENTICATED, 'not signed in');
    return { user: req.user };
  });
};
