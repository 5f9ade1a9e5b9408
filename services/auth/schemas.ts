/** zod schemas of the auth routes' bodies and replies (the OpenAPI document is generated from them). */
import { z } from 'zod';
import { errorEnvelopeSchema } from '../../proto/errors.js';
import { isSafeText } from '../../proto/text.js';
import { authUserSchema, roleSchema, userNameSchema } from './roles.js';

export const loginBodySchema = z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
export const loginReplySchema = z.object({ token: z.string(), user: authUserSchema, expires_at: z.string() });
/** The password step's answer for a user with a second factor: no session, a challenge for POST /api/auth/login/mfa. */
export const mfaChallengeReplySchema = z.object({ mfa_required: z.literal(true), challenge: z.string(), expires_at: z.string() });
export const passwordStepReplySchema = z.union([loginReplySchema, mfaChallengeReplySchema]);
export const loginCodeBodySchema = z.object({ challenge: z.string().min(1).max(200), code: z.string().min(1).max(64) });
export const mfaStatusSchema = z.object({
  enabled: z.boolean(),
  /** GC_MFA_REQUIRED names this user's role: without a factor, everything but set-up answers MFA_SETUP_REQUIRED. */
  required: z.boolean(),
  recovery_codes_left: z.number().int(),
});
export const meReplySchema = z.object({ user: authUserSchema, mfa: mfaStatusSchema });
export const mfaSetupReplySchema = z.object({
  /** Base32, for typing into an app; shown only during set-up, never again. */
  secret: z.string(),
  otpauth_uri: z.string(),
  /** The otpauth URI as a QR code (data:image/png;base64,…). */
  qr_png: z.string(),
});
export const mfaConfirmBodySchema = z.object({ code: z.string().min(1).max(64) });
export const mfaConfirmReplySchema = z.object({ recovery_codes: z.array(z.string()) });
export const okReplySchema = z.object({ ok: z.literal(true) });

export const createUserBodySchema = z.object({ name: userNameSchema, role: roleSchema, password: z.string().min(10).max(1024).optional() });
export const createUserReplySchema = z.object({ user: authUserSchema, generated_password: z.string().optional() });
export const idParamsSchema = z.object({ id: z.uuid() });
export const grantBodySchema = z.object({ agent_id: z.string().min(1).max(64) });
export const grantReplySchema = z.object({ user_id: z.string(), agent_id: z.string() });
export const grantParamsSchema = z.object({ id: z.uuid(), agentId: z.string().min(1).max(64) });

/** Also what `enrollment-key create` (cli.ts) takes: the shell gets the route's bounds, not looser ones. */
export const enrollmentKeyBodySchema = z.object({
  site: z.string().max(128).refine(isSafeText, 'holds a NUL character or a lone UTF-16 surrogate').default(''),
  reusable: z.boolean().default(false),
  ttl_hours: z
    .number()
    .positive()
    .max(24 * 365)
    .default(24 * 7),
});
export const enrollmentKeyReplySchema = z.object({ id: z.string(), key: z.string(), site: z.string(), reusable: z.boolean(), expires_at: z.string() });
export const enrollBodySchema = z.object({ enrollment_key: z.string().min(1).max(200), agent_id: z.string().min(1).max(64), hostname: z.string().min(1).max(255) });
export { enrollReplySchema } from '../../proto/enrollment.js';
export const agentParamsSchema = z.object({ agentId: z.string().min(1).max(64) });
export const revokeAgentReplySchema = z.object({ agent_id: z.string(), revoked_keys: z.array(z.string()) });

/** Error replies every route may give. */
export const errorReplies = {
  400: errorEnvelopeSchema,
  401: errorEnvelopeSchema,
  403: errorEnvelopeSchema,
  404: errorEnvelopeSchema,
  409: errorEnvelopeSchema,
  423: errorEnvelopeSchema,
  429: errorEnvelopeSchema,
  500: errorEnvelopeSchema,
  501: errorEnvelopeSchema,
  503: errorEnvelopeSchema,
};
