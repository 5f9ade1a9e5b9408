/** Password login with per-IP and per-name rate limits and a lockout after repeated failures. */
import { type Kysely, sql } from 'kysely';
import { ErrorCode, type GcError, type Result, ok } from '../../proto/errors.js';
import type { Database } from '../../infra/db/schema.js';
import { verifyAgainstDummy, verifyPassword } from './password.js';
import { type RateLimit, type RateLimiter, createRateLimiter } from './rate-limit.js';
import { type AuthUser, roleSchema } from './roles.js';
import { issueToken } from './tokens.js';

export const loginDefaults = {
  lockAfterFailures: 5,
  lockMinutes: 15,
  perIp: { max: 30, windowMs: 60_000 },
  perName: { max: 10, windowMs: 60_000 },
} as const;

export interface LoginPolicy {
  lockAfterFailures: number;
  lockMinutes: number;
  perIp: RateLimit;
  perName: RateLimit;
  tokenTtlMs?: number;
}

export interface LoginAttempt {
  name: string;
  password: string;
  ip: string;
}

export interface LoginSuccess {
  user: AuthUser;
  token: string;
  tokenId: string;
  expiresAt: Date;
}

/** Why a login failed, for the audit log (the caller only sees the error code and a generic message). */
export type LoginFailure = GcError & { reason: 'rate_limited_ip' | 'rate_limited_name' | 'unknown_user' | 'locked' | 'bad_password' | 'now_locked' | 'disabled' | 'service_account'; retryAfterMs?: number; userId?: string };

export type Login = (attempt: LoginAttempt) => Promise<Result<LoginSuccess, LoginFailure>>;

const wrong = 'name or password is wrong';

/** Builds the login function with its own rate-limit state (one per gateway process). */
export function createLogin(db: Kysely<Database>, policy: Partial<LoginPolicy> = {}): Login {
  const p = { ...loginDefaults, ...policy };
  const byIp: RateLimiter = createRateLimiter(p.perIp);
  const byName: RateLimiter = createRateLimiter(p.perName);
  const fail = (code: ErrorCode, message: string, extra: Omit<LoginFailure, 'code' | 'message'>): Result<never, LoginFailure> =>
    ({ ok: false, error: { code, message, ...extra } });

  return async ({ name, password, ip }) => {
    // Rate limits come before any hashing, so a flood costs us no scrypt work.
    const ipWait = byIp.hit(ip);
    if (ipWait) return fail(ErrorCode.RATE_LIMITED, `too many login attempts from this address; retry in ${Math.ceil(ipWait / 1000)} s`, { reason: 'rate_limited_ip', retryAfterMs: ipWait });
    const nameWait = byName.hit(name.toLowerCase());
    if (nameWait) return fail(ErrorCode.RATE_LIMITED, `too many login attempts for this user; retry in ${Math.ceil(nameWait / 1000)} s`, { reason: 'rate_limited_name', retryAfterMs: nameWait });

    const row = await db.selectFrom('users').select(['id', 'name', 'role', 'password_hash', 'disabled', 'locked_until'])
      .where('name', '=', name).executeTakeFirst();
    if (!row) {
      await verifyAgainstDummy(password);
      return fail(ErrorCode.UNAUTHENTICATED, wrong, { reason: 'unknown_user' });
    }
    if (row.password_hash === null) {
      // A service account has no password: the same answer and work as an unknown name, and no lockout count.
      await verifyAgainstDummy(password);
      return fail(ErrorCode.UNAUTHENTICATED, wrong, { reason: 'service_account', userId: row.id });
    }
    if (row.locked_until && row.locked_until > new Date()) {
      return fail(ErrorCode.ACCOUNT_LOCKED, `account locked after repeated failed logins until ${row.locked_until.toISOString()}`, { reason: 'locked', userId: row.id, retryAfterMs: row.locked_until.getTime() - Date.now() });
    }
    if (!(await verifyPassword(password, row.password_hash))) {
      // One statement, so concurrent failures all count and exactly one of them sets the lock.
      const n = p.lockAfterFailures;
      const upd = await db.updateTable('users')
        .set({
          failed_logins: sql<number>`case when failed_logins + 1 >= ${n} then 0 else failed_logins + 1 end`,
          locked_until: sql<Date | null>`case when failed_logins + 1 >= ${n} then now() + make_interval(mins => ${p.lockMinutes}) else locked_until end`,
        })
        .where('id', '=', row.id)
        .returning(['locked_until'])
        .executeTakeFirst();
      if (upd?.locked_until && upd.locked_until > new Date()) {
        return fail(ErrorCode.ACCOUNT_LOCKED, `account locked for ${p.lockMinutes} minutes after ${n} failed logins`, { reason: 'now_locked', userId: row.id });
      }
      return fail(ErrorCode.UNAUTHENTICATED, wrong, { reason: 'bad_password', userId: row.id });
    }
    if (row.disabled) return fail(ErrorCode.FORBIDDEN, 'this account is disabled; ask an administrator', { reason: 'disabled', userId: row.id });
    const role = roleSchema.safeParse(row.role);
    if (!role.success) return fail(ErrorCode.FORBIDDEN, 'this account has no valid role', { reason: 'disabled', userId: row.id });

    await db.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', row.id).execute();
    byName.reset(name.toLowerCase());
    const t = await issueToken(db, row.id, { ttlMs: p.tokenTtlMs, ip });
    return ok({ user: { id: row.id, name: row.name, role: role.data }, token: t.token, tokenId: t.id, expiresAt: t.expiresAt });
  };
}
