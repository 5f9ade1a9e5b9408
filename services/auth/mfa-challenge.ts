/**
 * The second-factor challenge: what the password step hands out when the user has a factor. Not a
 * session: it only lets its holder present a code for that user, once, within a few minutes.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { hashSecret, newSecret } from './secrets.js';

export const MFA_CHALLENGE_PREFIX = 'gcm_';

/** Issues a challenge for `userId`; only its sha256 is stored. */
export async function issueMfaChallenge(db: Kysely<Database>, userId: string, opts: { ttlMs: number; nowMs: number; ip?: string }): Promise<{ token: string; expiresAt: Date }> {
  const token = newSecret('gcm');
  const expiresAt = new Date(opts.nowMs + opts.ttlMs);
  // The user's dead challenges go here, so the table holds a handful of rows per user at most.
  await db.deleteFrom('mfa_challenges').where('user_id', '=', userId).where('expires_at', '<', new Date(opts.nowMs)).execute();
  await db
    .insertInto('mfa_challenges')
    .values({ user_id: userId, token_hash: hashSecret(token), expires_at: expiresAt, used_at: null, created_ip: opts.ip ?? null })
    .execute();
  return { token, expiresAt };
}

/** The live challenge behind `token` (not used, not expired at `nowMs`), or undefined. */
export async function findMfaChallenge(db: Kysely<Database>, token: string, nowMs: number): Promise<{ id: string; userId: string } | undefined> {
  if (!token.startsWith(MFA_CHALLENGE_PREFIX) || token.length > 200) return undefined;
  const row = await db
    .selectFrom('mfa_challenges')
    .select(['id', 'user_id'])
    .where('token_hash', '=', hashSecret(token))
    .where('used_at', 'is', null)
    .where('expires_at', '>', new Date(nowMs))
    .executeTakeFirst();
  return row ? { id: row.id, userId: row.user_id } : undefined;
}

/** Uses the challenge up; false when another request used it first. */
export async function consumeMfaChallenge(db: Kysely<Database>, id: string, nowMs: number): Promise<boolean> {
  const r = await db
    .updateTable('mfa_challenges')
    .set({ used_at: new Date(nowMs) })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return r.numUpdatedRows > 0n;
}
