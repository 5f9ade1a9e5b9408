/**
 * Sign-in with per-IP and per-name rate limits and a lockout after repeated failures: the password
 * step, and for users with a second factor the code step (password, then code; issue 16).
 */
import type { Kysely } from 'kysely';
import { ErrorCode, type GcError, type Result, ok } from '../../proto/errors.js';
import type { Database } from '../../infra/db/schema.js';
import { clearLoginFailures, recordLoginFailure } from './lockout.js';
import { consumeMfaChallenge, findMfaChallenge, issueMfaChallenge } from './mfa-challenge.js';
import { mfaStatus, verifySecondFactor } from './mfa.js';
import { verifyAgainstDummy, verifyPassword } from './password.js';
import { type RateLimit, type RateLimiter, createRateLimiter } from './rate-limit.js';
import { type AuthUser, roleSchema } from './roles.js';
import { issueToken } from './tokens.js';

export const loginDefaults = {
  lockAfterFailures: 5,
  lockMinutes: 15,
  perIp: { max: 30, windowMs: 60_000 },
  perName: { max: 10, windowMs: 60_000 },
  /** How long the password step's second-factor challenge lives. */
  mfaChallengeTtlMs: 5 * 60_000,
} as const;

export interface LoginPolicy {
  lockAfterFailures: number;
  lockMinutes: number;
  perIp: RateLimit;
  perName: RateLimit;
  tokenTtlMs?: number;
  mfaChallengeTtlMs: number;
  /** The clock of the code checks and challenges (tests fix it); default Date.now. */
  now?: () => number;
}

export interface LoginAttempt {
  name: string;
  password: string;
  ip: string;
}

export interface CodeAttempt {
  challenge: string;
  code: string;
  ip: string;
}

/** A session: the password was enough (no factor), or the code step passed. */
export interface SessionIssued {
  step: 'session';
  user: AuthUser;
  token: string;
  tokenId: string;
  expiresAt: Date;
  /** How the second factor was passed, when there was one. */
  method?: 'totp' | 'recovery';
}

/** The password was right and the user has a second factor: no session yet, a challenge for the code step. */
export interface MfaChallenged {
  step: 'mfa';
  user: AuthUser;
  challenge: string;
  expiresAt: Date;
}

export type LoginSuccess = SessionIssued | MfaChallenged;

/** Why a login failed, for the audit log (the caller only sees the error code and a generic message). */
export type LoginFailure = GcError & {
  reason:
    | 'rate_limited_ip'
    | 'rate_limited_name'
    | 'unknown_user'
    | 'locked'
    | 'bad_password'
    | 'now_locked'
    | 'disabled'
    | 'service_account'
    | 'challenge_invalid'
    | 'code_wrong'
    | 'code_reused'
    | 'recovery_wrong'
    | 'no_factor';
  retryAfterMs?: number;
  userId?: string;
  name?: string;
};

export type Login = (attempt: LoginAttempt) => Promise<Result<LoginSuccess, LoginFailure>>;
export type CodeLogin = (attempt: CodeAttempt) => Promise<Result<SessionIssued, LoginFailure>>;

const wrong = 'name or password is wrong';

/** Builds the two sign-in steps with their own rate-limit state (one per gateway process). */
export function createLogin(db: Kysely<Database>, policy: Partial<LoginPolicy> = {}): { password: Login; code: CodeLogin } {
  const p = { ...loginDefaults, ...policy };
  const now = p.now ?? Date.now;
  const byIp: RateLimiter = createRateLimiter(p.perIp);
  const byName: RateLimiter = createRateLimiter(p.perName);
  const fail = (code: ErrorCode, message: string, extra: Omit<LoginFailure, 'code' | 'message'>): Result<never, LoginFailure> => ({ ok: false, error: { code, message, ...extra } });
  const lockedFail = (userId: string, name?: string) =>
    fail(ErrorCode.ACCOUNT_LOCKED, `account locked for ${p.lockMinutes} minutes after ${p.lockAfterFailures} failed logins`, { reason: 'now_locked', userId, ...(name ? { name } : {}) });
  const session = async (user: AuthUser, ip: string, method?: 'totp' | 'recovery'): Promise<SessionIssued> => {
    await clearLoginFailures(db, user.id);
    byName.reset(user.name.toLowerCase());
    const t = await issueToken(db, user.id, { ttlMs: p.tokenTtlMs, ip });
    return { step: 'session', user, token: t.token, tokenId: t.id, expiresAt: t.expiresAt, ...(method ? { method } : {}) };
  };

  const password: Login = async ({ name, password, ip }) => {
    // Rate limits come before any hashing, so a flood costs us no scrypt work.
    const ipWait = byIp.hit(ip);
    if (ipWait) return fail(ErrorCode.RATE_LIMITED, `too many login attempts from this address; retry in ${Math.ceil(ipWait / 1000)} s`, { reason: 'rate_limited_ip', retryAfterMs: ipWait });
    const nameWait = byName.hit(name.toLowerCase());
    if (nameWait) return fail(ErrorCode.RATE_LIMITED, `too many login attempts for this user; retry in ${Math.ceil(nameWait / 1000)} s`, { reason: 'rate_limited_name', retryAfterMs: nameWait });

    const row = await db.selectFrom('users').select(['id', 'name', 'role', 'password_hash', 'disabled', 'locked_until']).where('name', '=', name).executeTakeFirst();
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
      return fail(ErrorCode.ACCOUNT_LOCKED, `account locked after repeated failed logins until ${row.locked_until.toISOString()}`, {
        reason: 'locked',
        userId: row.id,
        retryAfterMs: row.locked_until.getTime() - Date.now(),
      });
    }
    if (!(await verifyPassword(password, row.password_hash))) {
      if (await recordLoginFailure(db, row.id, p)) return lockedFail(row.id);
      return fail(ErrorCode.UNAUTHENTICATED, wrong, { reason: 'bad_password', userId: row.id });
    }
    if (row.disabled) return fail(ErrorCode.FORBIDDEN, 'this account is disabled; ask an administrator', { reason: 'disabled', userId: row.id });
    const role = roleSchema.safeParse(row.role);
    if (!role.success) return fail(ErrorCode.FORBIDDEN, 'this account has no valid role', { reason: 'disabled', userId: row.id });
    const user: AuthUser = { id: row.id, name: row.name, role: role.data };

    // With a second factor the failure count is not cleared here: only a complete sign-in clears
    // it, so wrong codes after a right password keep adding up to the lockout.
    if ((await mfaStatus(db, row.id)).enabled) {
      const c = await issueMfaChallenge(db, row.id, { ttlMs: p.mfaChallengeTtlMs, nowMs: now(), ip });
      return ok({ step: 'mfa', user, challenge: c.token, expiresAt: c.expiresAt });
    }
    return ok(await session(user, ip));
  };

  const code: CodeLogin = async ({ challenge, code, ip }) => {
    const ipWait = byIp.hit(ip);
    if (ipWait) return fail(ErrorCode.RATE_LIMITED, `too many login attempts from this address; retry in ${Math.ceil(ipWait / 1000)} s`, { reason: 'rate_limited_ip', retryAfterMs: ipWait });
    const ch = await findMfaChallenge(db, challenge, now());
    if (!ch) return fail(ErrorCode.MFA_CHALLENGE_INVALID, 'the sign-in expired or was already completed; sign in again with your password', { reason: 'challenge_invalid' });
    const row = await db.selectFrom('users').select(['id', 'name', 'role', 'disabled', 'locked_until']).where('id', '=', ch.userId).executeTakeFirst();
    const role = roleSchema.safeParse(row?.role);
    if (!row || !role.success || row.disabled) return fail(ErrorCode.FORBIDDEN, 'this account is disabled; ask an administrator', { reason: 'disabled', userId: ch.userId });
    const who = { userId: row.id, name: row.name };
    const nameWait = byName.hit(row.name.toLowerCase());
    if (nameWait)
      return fail(ErrorCode.RATE_LIMITED, `too many login attempts for this user; retry in ${Math.ceil(nameWait / 1000)} s`, { reason: 'rate_limited_name', retryAfterMs: nameWait, ...who });
    if (row.locked_until && row.locked_until > new Date()) {
      return fail(ErrorCode.ACCOUNT_LOCKED, `account locked after repeated failed logins until ${row.locked_until.toISOString()}`, {
        reason: 'locked',
        retryAfterMs: row.locked_until.getTime() - Date.now(),
        ...who,
      });
    }
    const v = await verifySecondFactor(db, row.id, code, now());
    if (!v.ok) {
      if (await recordLoginFailure(db, row.id, p)) return lockedFail(row.id, row.name);
      return fail(v.error.code, v.error.message, { reason: v.error.reason, ...who });
    }
    // One challenge, one session: a second request with the same challenge and another code loses here.
    if (!(await consumeMfaChallenge(db, ch.id, now())))
      return fail(ErrorCode.MFA_CHALLENGE_INVALID, 'this sign-in was already completed; sign in again with your password', { reason: 'challenge_invalid', ...who });
    return ok(await session({ id: row.id, name: row.name, role: role.data }, ip, v.value.method));
  };

  return { password, code };
}
