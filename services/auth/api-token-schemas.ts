/** zod schemas of the API token routes (kept apart from schemas.ts so the two change independently). */
import { z } from 'zod';
import { userNameSchema } from './roles.js';

/** Token names: short and printable (no NUL, no control characters, no lone surrogates), safe in audit details. */
export const apiTokenNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._:@/-]*$/, 'use letters, digits, space and . _ : @ / - (starting with a letter or digit)');

/** Up to ten years; omitted means the token never expires (revoke it instead). */
export const MAX_TOKEN_DAYS = 3650;

export const createApiTokenBodySchema = z
  .object({
    name: apiTokenNameSchema,
    user: userNameSchema,
    expires_in_days: z.number().int().min(1).max(MAX_TOKEN_DAYS).optional(),
  })
  .strict();

export const createApiTokenReplySchema = z.object({
  id: z.string(),
  /** The clear token: shown once, never stored or listed. */
  token: z.string(),
  name: z.string(),
  user: z.string(),
  expires_at: z.string().nullable(),
});

export const apiTokenInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  user: z.string(),
  user_id: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export const listApiTokensReplySchema = z.object({ tokens: z.array(apiTokenInfoSchema) });
