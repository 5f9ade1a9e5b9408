/** zod schemas of the auth routes' bodies and replies (the OpenAPI document is generated from them). */
import { z } from 'zod';
import { errorEnvelopeSchema } from '../../proto/errors.js';
import { authUserSchema, roleSchema, userNameSchema } from './roles.js';

export const loginBodySchema = z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) });
export const loginReplySchema = z.object({ token: z.string(), user: authUserSchema, expires_at: z.string() });
export const meReplySchema = z.object({ user: authUserSchema });
export const okReplySchema = z.object({ ok: z.literal(true) });

export const createUserBodySchema = z.object({ name: userNameSchema, role: roleSchema, password: z.string().min(10).max(1024).optional() });
export const createUserReplySchema = z.object({ user: authUserSchema, generated_password: z.string().optional() });
export const idParamsSchema = z.object({ id: z.uuid() });
export const grantBodySchema = z.object({ agent_id: z.string().min(1).max(64) });
export const grantReplySchema = z.object({ user_id: z.string(), agent_id: z.string() });
export const grantParamsSchema = z.object({ id: z.uuid(), agentId: z.string().min(1).max(64) });

export const enrollmentKeyBodySchema = z.object({
  site: z.string().max(128).default(''),
  reusable: z.boolean().default(false),
  ttl_hours: z.number().positive().max(24 * 365).default(24 * 7),
});
export const enrollmentKeyReplySchema = z.object({ id: z.string(), key: z.string(), site: z.string(), reusable: z.boolean(), expires_at: z.string() });
export const enrollBodySchema = z.object({ enrollment_key: z.string().min(1).max(200), agent_id: z.string().min(1).max(64), hostname: z.string().min(1).max(255) });
export const enrollReplySchema = z.object({ agent_id: z.string(), creds: z.string(), nats_url: z.union([z.string(), z.array(z.string())]), site: z.string(), nats_ca: z.string().optional().describe('PEM of the CA the NATS servers chain to: the agent\'s GC_NATS_CA') });
export const agentParamsSchema = z.object({ agentId: z.string().min(1).max(64) });
export const revokeAgentReplySchema = z.object({ agent_id: z.string(), revoked_keys: z.array(z.string()) });

/** Error replies every route may give. */
export const errorReplies = { 400: errorEnvelopeSchema, 401: errorEnvelopeSchema, 403: errorEnvelopeSchema, 404: errorEnvelopeSchema, 409: errorEnvelopeSchema, 423: errorEnvelopeSchema, 429: errorEnvelopeSchema, 500: errorEnvelopeSchema, 501: errorEnvelopeSchema, 503: errorEnvelopeSchema };
