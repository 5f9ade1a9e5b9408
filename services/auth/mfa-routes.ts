/** The signed-in technician's second factor (status, set-up, confirm) and the admin reset. */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { generate } from 'lean-qr';
import { toPngDataURL } from 'lean-qr/extras/node_export';
import { ErrorCode } from '../../proto/errors.js';
import { mfaRequiredFor } from './mfa-policy.js';
import { beginMfaSetup, confirmMfaSetup, mfaStatus, resetMfa } from './mfa.js';
import { type AuthPluginOptions, loggedAudit } from './options.js';
import { sendError } from './reply.js';
import { errorReplies, idParamsSchema, mfaConfirmBodySchema, mfaConfirmReplySchema, mfaSetupReplySchema, mfaStatusSchema, okReplySchema } from './schemas.js';
import { totpUri } from './totp.js';

export const mfaRoutes: FastifyPluginAsync<AuthPluginOptions> = async (root, opts) => {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { db, audit } = opts;
  const issuer = opts.mfa?.issuer ?? 'GuruConnect';
  const now = opts.login?.now ?? Date.now;
  const tags = ['auth'];
  // A person sets up their own factor in a session: an API token belongs to a script.
  const person = async (req: Parameters<ReturnType<typeof app.requireRole>>[0], reply: Parameters<ReturnType<typeof app.requireRole>>[1]) => {
    if (!req.user) return sendError(reply, ErrorCode.UNAUTHENTICATED, 'sign in first');
    if (req.user.api_token) return sendError(reply, ErrorCode.FORBIDDEN, 'a second factor belongs to a person signed in with a password, not to an API token');
    return undefined;
  };

  app.get(
    '/api/auth/mfa',
    {
      preHandler: person,
      schema: { tags, summary: 'The state of my second factor', response: { 200: mfaStatusSchema, ...errorReplies } },
    },
    async (req) => {
      const user = req.user!;
      const s = await mfaStatus(db, user.id);
      return { enabled: s.enabled, required: mfaRequiredFor(opts, user), recovery_codes_left: s.recoveryCodesLeft };
    },
  );

  app.post(
    '/api/auth/mfa/setup',
    {
      preHandler: person,
      schema: { tags, summary: 'Start setting up a second factor (TOTP): the secret as text and QR code, shown this once', response: { 200: mfaSetupReplySchema, ...errorReplies } },
    },
    async (req, reply) => {
      const user = req.user!;
      const r = await beginMfaSetup(db, user.id);
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      const uri = totpUri(r.value.secret, user.name, issuer);
      await loggedAudit(audit, req.log)({ eventType: 'mfa_setup_started', actor: user, details: {} });
      reply.header('cache-control', 'no-store');
      return { secret: r.value.secret, otpauth_uri: uri, qr_png: toPngDataURL(generate(uri), { scale: 6, pad: 4 }) };
    },
  );

  app.post(
    '/api/auth/mfa/confirm',
    {
      preHandler: person,
      schema: {
        tags,
        summary: 'Confirm set-up with one code; answers ten single-use recovery codes, shown this once',
        body: mfaConfirmBodySchema,
        response: { 200: mfaConfirmReplySchema, ...errorReplies },
      },
    },
    async (req, reply) => {
      const user = req.user!;
      const r = await confirmMfaSetup(db, user.id, req.body.code.trim(), now());
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'mfa_enabled', actor: user, details: { recovery_codes: r.value.recoveryCodes.length } });
      reply.header('cache-control', 'no-store');
      return { recovery_codes: r.value.recoveryCodes };
    },
  );

  app.post(
    '/api/users/:id/mfa/reset',
    {
      preHandler: app.requireRole('admin'),
      schema: {
        tags: ['users'],
        summary: "Remove a technician's second factor (lost device); they set up a new one at their next sign-in",
        params: idParamsSchema,
        response: { 200: okReplySchema, ...errorReplies },
      },
    },
    async (req, reply) => {
      const r = await resetMfa(db, req.params.id);
      if (!r.ok) return sendError(reply, r.error.code, r.error.message);
      await loggedAudit(audit, req.log)({ eventType: 'mfa_reset', actor: req.user ?? undefined, details: { user_id: req.params.id } });
      return { ok: true as const };
    },
  );
};
