/** POST /api/auth/login (password, then /login/mfa for a second factor), POST /api/auth/logout, GET /api/auth/me. */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { ErrorCode } from '../../proto/errors.js';
import { sessionCookie } from './cookies.js';
import { type LoginFailure, type SessionIssued, createLogin } from './login.js';
import { mfaRequiredFor } from './mfa-policy.js';
import { mfaStatus } from './mfa.js';
import { type AuthPluginOptions, loggedAudit } from './options.js';
import { sendError } from './reply.js';
import { errorReplies, loginBodySchema, loginCodeBodySchema, loginReplySchema, meReplySchema, okReplySchema, passwordStepReplySchema } from './schemas.js';
import { revokeToken, tokenIds } from './tokens.js';

/** Whether the session cookie gets `Secure`: always when configured, and whenever this request came over HTTPS. */
export const cookieSecureFor = (opts: AuthPluginOptions, req: FastifyRequest) => (opts.cookieSecure ?? false) || req.protocol === 'https';

export const sessionRoutes: FastifyPluginAsync<AuthPluginOptions> = async (root, opts) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { db, audit } = opts;
  const login = createLogin(db, opts.login);

  const refused = async (req: FastifyRequest, reply: FastifyReply, e: LoginFailure, name: string | null) => {
    await loggedAudit(audit, req.log)({ eventType: 'login_failed', details: { name, ip: req.ip, reason: e.reason, user_id: e.userId ?? null } });
    if (e.reason === 'now_locked') await loggedAudit(audit, req.log)({ eventType: 'account_locked', details: { name, user_id: e.userId ?? null, ip: req.ip } });
    if (e.retryAfterMs) reply.header('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
    return sendError(reply, e.code, e.message);
  };
  const signedIn = async (req: FastifyRequest, reply: FastifyReply, s: SessionIssued) => {
    await loggedAudit(audit, req.log)({ eventType: 'login', actor: s.user, details: { ip: req.ip, token_id: s.tokenId, ...(s.method ? { mfa: s.method } : {}) } });
    reply.header('set-cookie', sessionCookie(s.token, Math.floor((s.expiresAt.getTime() - Date.now()) / 1000), cookieSecureFor(opts, req)));
    return { token: s.token, user: s.user, expires_at: s.expiresAt.toISOString() };
  };

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in with name and password (a user with a second factor gets a challenge for /api/auth/login/mfa, not a session)',
        body: loginBodySchema,
        response: { 200: passwordStepReplySchema, ...errorReplies },
      },
    },
    async (req, reply) => {
      const r = await login.password({ name: req.body.name, password: req.body.password, ip: req.ip });
      if (!r.ok) return refused(req, reply, r.error, req.body.name);
      if (r.value.step === 'session') return signedIn(req, reply, r.value);
      await loggedAudit(audit, req.log)({ eventType: 'login_mfa_challenged', actor: r.value.user, details: { ip: req.ip } });
      return { mfa_required: true as const, challenge: r.value.challenge, expires_at: r.value.expiresAt.toISOString() };
    },
  );

  app.post(
    '/api/auth/login/mfa',
    {
      schema: {
        tags: ['auth'],
        summary: 'Second sign-in step: the challenge and a code from the authenticator app (or a recovery code)',
        body: loginCodeBodySchema,
        response: { 200: loginReplySchema, ...errorReplies },
      },
    },
    async (req, reply) => {
      const r = await login.code({ challenge: req.body.challenge, code: req.body.code, ip: req.ip });
      if (!r.ok) return refused(req, reply, r.error, r.error.name ?? null);
      return signedIn(req, reply, r.value);
    },
  );

  app.post(
    '/api/auth/logout',
    {
      schema: { tags: ['auth'], summary: 'Revoke the token this request came with', response: { 200: okReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const tokenId = tokenIds.get(req);
      if (req.user?.api_token) return sendError(reply, ErrorCode.CONFLICT, 'an API token is not a session: an admin revokes it with DELETE /api/tokens/:id');
      if (!req.user || !tokenId) return sendError(reply, ErrorCode.UNAUTHENTICATED, 'not signed in');
      await revokeToken(db, tokenId);
      await loggedAudit(audit, req.log)({ eventType: 'logout', actor: req.user, details: { token_id: tokenId } });
      reply.header('set-cookie', sessionCookie('', 0, cookieSecureFor(opts, req)));
      return { ok: true as const };
    },
  );

  app.get(
    '/api/auth/me',
    {
      schema: { tags: ['auth'], summary: 'The signed-in technician and the state of their second factor', response: { 200: meReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      if (!req.user) return sendError(reply, ErrorCode.UNAUTHENTICATED, 'not signed in');
      const s = await mfaStatus(db, req.user.id);
      return { user: req.user, mfa: { enabled: s.enabled, required: mfaRequiredFor(opts, req.user), recovery_codes_left: s.recoveryCodesLeft } };
    },
  );
};
