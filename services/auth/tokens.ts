/** Session tokens: opaque, stored hashed, expiring, revocable. */
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import type { Database } from '../../infra/db/schema.js';
import { executePrepared } from '../../infra/db/connect.js';
import { roleSchema } from './roles.js';
import { hashSecret, newSecret } from './secrets.js';
import type { ResolvedSession } from './session-cache.js';

/** Token id behind each authenticated request, so logout revokes exactly the token it came with. */
export const tokenIds = new WeakMap<FastifyRequest, string>();

export const tokenDefaults = { ttlMs: 12 * 3600_000 } as const;

/** Longer than any token we issue (gcs_ + 43 characters): refused without hashing or asking. */
export const MAX_TOKEN_LENGTH = 200;

/** Issues a token for `userId`; the clear token is returned once and never stored. */
export async function issueToken(db: Kysely<Database>, userId: string, opts: { ttlMs?: number; ip?: string } = {}): Promise<{ id: string; token: string; expiresAt: Date }> {
  const token = newSecret('gcs');
  const expiresAt = new Date(Date.now() + (opts.ttlMs ?? tokenDefaults.ttlMs));
  const row = await db
    .insertInto('auth_tokens')
    .values({ user_id: userId, token_hash: hashSecret(token), expires_at: expiresAt, revoked_at: null, created_ip: opts.ip ?? null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token, expiresAt };
}

/**
 * The user behind a live token (not expired, not revoked, user not disabled), with the token id,
 * its expiry, and whether the user has a confirmed second factor (GC_MFA_REQUIRED enforcement needs
 * it on every request). `tokenHash` is hashSecret of the presented token (the cache's key too).
 */
export async function resolveTokenHash(db: Kysely<Database>, tokenHash: string, now = new Date()): Promise<ResolvedSession | undefined> {
  // Every authenticated request the cache cannot answer runs this: a prepared statement (the same checks, asked every time).
  const query = db
    .selectFrom('auth_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .leftJoin('user_mfa as m', 'm.user_id', 'u.id')
    .select(['t.id as token_id', 't.expires_at', 'u.id', 'u.name', 'u.role', 'm.confirmed_at'])
    .where('t.token_hash', '=', tokenHash)
    .where('t.revoked_at', 'is', null)
    .where('t.expires_at', '>', now)
    .where('u.disabled', '=', false)
    .limit(1)
    .compile();
  const [row] = await executePrepared(db, 'gc_resolve_token_v2', query);
  if (!row) return undefined;
  const role = roleSchema.safeParse(row.role);
  return role.success ? { user: { id: row.id, name: row.name, role: role.data }, tokenId: row.token_id, mfaEnabled: row.confirmed_at !== null, expiresAt: row.expires_at } : undefined;
}

/** Revokes one token by id; NOT_FOUND when it does not exist or was already revoked. */
export async function revokeToken(db: Kysely<Database>, tokenId: string): Promise<Result<{ userId: string }>> {
  const row = await db.updateTable('auth_tokens').set({ revoked_at: new Date() }).where('id', '=', tokenId).where('revoked_at', 'is', null).returning('user_id').executeTakeFirst();
  return row ? ok({ userId: row.user_id }) : err(ErrorCode.NOT_FOUND, `no live token with id ${tokenId}`);
}
