/**
 * Named API tokens for HTTP automation (`gca_…`): created by admins for a user or a service account,
 * stored as sha256 only, optionally expiring, revocable, with a last-used time written at most about
 * once a minute per token.
 */
import type { Kysely } from 'kysely';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import type { Database } from '../../infra/db/schema.js';
import { executePrepared } from '../../infra/db/connect.js';
import { type AuthUser, roleSchema } from './roles.js';
import { hashSecret, newSecret } from './secrets.js';

export const API_TOKEN_PREFIX = 'gca_';

/** How often one token's last_used_at is written at most (and its use audited). */
export const apiTokenDefaults = { touchEveryMs: 60_000 } as const;

/** A token as admins list it: never the token itself, nor its hash. */
export interface ApiTokenInfo {
  id: string;
  name: string;
  user: string;
  user_id: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** Whether a presented bearer token is an API token (the prefix tells it from a session token). */
export const isApiToken = (token: string): boolean => token.startsWith(API_TOKEN_PREFIX);

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Creates a token for the user named `userName`; the clear token is returned once and never stored. */
export async function createApiToken(
  db: Kysely<Database>,
  input: { name: string; userName: string; expiresInDays?: number; createdBy?: string },
): Promise<Result<{ id: string; token: string; user: { id: string; name: string }; expiresAt: Date | null }>> {
  const user = await db.selectFrom('users').select(['id', 'name', 'disabled']).where('name', '=', input.userName).executeTakeFirst();
  if (!user) return err(ErrorCode.NOT_FOUND, `no user named ${input.userName}; create it first (users create --service for a service account)`);
  if (user.disabled) return err(ErrorCode.CONFLICT, `user ${user.name} is disabled; a token for it would not work`);
  const token = newSecret('gca');
  const expiresAt = input.expiresInDays === undefined ? null : new Date(Date.now() + input.expiresInDays * 86_400_000);
  try {
    const row = await db
      .insertInto('api_tokens')
      .values({ user_id: user.id, name: input.name, token_hash: hashSecret(token), created_by: input.createdBy ?? null, expires_at: expiresAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    return ok({ id: row.id, token, user: { id: user.id, name: user.name }, expiresAt });
  } catch (e) {
    // The partial unique index (user_id, name) where revoked_at is null.
    if ((e as { code?: string }).code === '23505') return err(ErrorCode.CONFLICT, `${user.name} already has a live token named "${input.name}"; revoke it or pick another name`);
    throw e;
  }
}

/** Every token, newest first, with its user's name. */
export async function listApiTokens(db: Kysely<Database>): Promise<ApiTokenInfo[]> {
  const rows = await db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id', 't.name', 'u.name as user', 'u.id as user_id', 't.created_at', 't.expires_at', 't.last_used_at', 't.revoked_at'])
    .orderBy('t.created_at', 'desc')
    .orderBy('t.id')
    .execute();
  return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString(), expires_at: iso(r.expires_at), last_used_at: iso(r.last_used_at), revoked_at: iso(r.revoked_at) }));
}

/** Revokes a token by id: NOT_FOUND for an unknown id, CONFLICT when it was already revoked. */
export async function revokeApiToken(db: Kysely<Database>, id: string): Promise<Result<{ id: string; name: string; userId: string }>> {
  const row = await db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).returning(['id', 'name', 'user_id']).executeTakeFirst();
  if (row) return ok({ id: row.id, name: row.name, userId: row.user_id });
  const exists = await db.selectFrom('api_tokens').select('id').where('id', '=', id).executeTakeFirst();
  return exists ? err(ErrorCode.CONFLICT, `token ${id} is already revoked`) : err(ErrorCode.NOT_FOUND, `no API token with id ${id}`);
}

/**
 * The user behind a presented API token, with the token's id and name on `api_token`; a revoked or
 * expired token is an error of its own, so a script's log says why it stopped working.
 */
export async function resolveApiToken(db: Kysely<Database>, token: string, now = new Date()): Promise<Result<AuthUser & { api_token: { id: string; name: string } }>> {
  const unknown = err(ErrorCode.UNAUTHENTICATED, 'unknown API token');
  if (token.length > 200) return unknown;
  // Every request of a script runs this: a prepared statement (tokens.ts resolveTokenHash).
  const query = db
    .selectFrom('api_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['t.id as token_id', 't.name as token_name', 't.expires_at', 't.revoked_at', 'u.id', 'u.name', 'u.role', 'u.disabled'])
    .where('t.token_hash', '=', hashSecret(token))
    .limit(1)
    .compile();
  const [row] = await executePrepared(db, 'gc_resolve_api_token', query);
  if (!row) return unknown;
  if (row.revoked_at) return err(ErrorCode.TOKEN_REVOKED, `API token "${row.token_name}" was revoked at ${row.revoked_at.toISOString()}; ask an admin for a new one`);
  if (row.expires_at && row.expires_at <= now) return err(ErrorCode.TOKEN_EXPIRED, `API token "${row.token_name}" expired at ${row.expires_at.toISOString()}; ask an admin for a new one`);
  if (row.disabled) return err(ErrorCode.UNAUTHENTICATED, `the user of API token "${row.token_name}" is disabled`);
  const role = roleSchema.safeParse(row.role);
  if (!role.success) return unknown;
  return ok({ id: row.id, name: row.name, role: role.data, api_token: { id: row.token_id, name: row.token_name } });
}

/**
 * Records a token's use: writes last_used_at only when the stored one is older than `touchEveryMs`
 * (checked in this process first, then in SQL so several gateways agree). Resolves true when this
 * call wrote it, i.e. the first use in the interval (the caller audits that one).
 */
export function createApiTokenTouch(db: Kysely<Database>, opts: { touchEveryMs?: number } = {}): (tokenId: string) => Promise<boolean> {
  const every = opts.touchEveryMs ?? apiTokenDefaults.touchEveryMs;
  const lastWrite = new Map<string, number>();
  return async (tokenId) => {
    const now = Date.now();
    const seen = lastWrite.get(tokenId);
    if (seen !== undefined && now - seen < every) return false;
    lastWrite.set(tokenId, now);
    // Drop stale entries so the map holds only tokens used in the last interval.
    if (lastWrite.size > 10_000) for (const [k, t] of lastWrite) if (now - t >= every) lastWrite.delete(k);
    const cutoff = new Date(now - every);
    const row = await db
      .updateTable('api_tokens')
      .set({ last_used_at: new Date(now) })
      .where('id', '=', tokenId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', cutoff)]))
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  };
}
