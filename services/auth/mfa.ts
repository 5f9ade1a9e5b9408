/**
 * Technicians' second factor in Postgres: set-up (a pending secret, confirmed with one code), ten
 * single-use recovery codes stored hashed, the code check with replay refusal, and the admin reset.
 */
import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { ErrorCode, type GcError, type Result, err, ok } from '../../proto/errors.js';
import type { Database } from '../../infra/db/schema.js';
import { hashSecret } from './secrets.js';
import { matchTotp, newTotpSecret } from './totp.js';

export const RECOVERY_CODE_COUNT = 10;
// 32 letters and digits without the look-alikes l, o, 0, 1: 5 bits a character, 50 bits a code.
const ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** A recovery code as shown: `xxxxx-xxxxx`. */
export function newRecoveryCode(): string {
  const b = randomBytes(10);
  const s = [...b].map((x) => ALPHABET[x & 31]).join('');
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** What is hashed: case, spaces and dashes do not matter when typing a code. */
const normalizeRecovery = (code: string) => code.toLowerCase().replace(/[\s-]/g, '');

export interface MfaStatus {
  enabled: boolean;
  recoveryCodesLeft: number;
}

/** Whether `userId` has a confirmed factor, and how many unused recovery codes remain. */
export async function mfaStatus(db: Kysely<Database>, userId: string): Promise<MfaStatus> {
  const row = await db.selectFrom('user_mfa').select('confirmed_at').where('user_id', '=', userId).executeTakeFirst();
  if (!row?.confirmed_at) return { enabled: false, recoveryCodesLeft: 0 };
  const n = await db.selectFrom('mfa_recovery_codes').select(sql<string>`count(*)`.as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
  return { enabled: true, recoveryCodesLeft: Number(n.n) };
}

/** Starts (or restarts) set-up with a fresh secret; CONFLICT when a factor is already confirmed. */
export async function beginMfaSetup(db: Kysely<Database>, userId: string): Promise<Result<{ secret: string }>> {
  const secret = newTotpSecret();
  const row = await db
    .insertInto('user_mfa')
    .values({ user_id: userId, secret, confirmed_at: null, last_step: null })
    .onConflict((c) => c.column('user_id').doUpdateSet({ secret, last_step: null }).where('user_mfa.confirmed_at', 'is', null))
    .returning('user_id')
    .executeTakeFirst();
  if (!row) return err(ErrorCode.CONFLICT, 'a second factor is already set up; an admin resets it before a new one can be set up');
  return ok({ secret });
}

/**
 * Confirms set-up with one code of the pending secret: the factor is on from now, and ten new
 * recovery codes are returned once (only their hashes are kept).
 */
export async function confirmMfaSetup(db: Kysely<Database>, userId: string, code: string, nowMs: number): Promise<Result<{ recoveryCodes: string[] }>> {
  return db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('user_mfa').select(['secret', 'confirmed_at']).where('user_id', '=', userId).forUpdate().executeTakeFirst();
    if (!row) return err(ErrorCode.CONFLICT, 'no set-up in progress: start it with POST /api/auth/mfa/setup');
    if (row.confirmed_at) return err(ErrorCode.CONFLICT, 'the second factor is already confirmed');
    const step = matchTotp(row.secret, code, nowMs);
    if (step === undefined) return err(ErrorCode.MFA_CODE_INVALID, 'the code does not match; check the device clock and type the code the app shows now');
    await tx
      .updateTable('user_mfa')
      .set({ confirmed_at: new Date(nowMs), last_step: step })
      .where('user_id', '=', userId)
      .execute();
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    await tx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
    await tx
      .insertInto('mfa_recovery_codes')
      .values(codes.map((c) => ({ user_id: userId, code_hash: hashSecret(normalizeRecovery(c)), used_at: null })))
      .execute();
    return ok({ recoveryCodes: codes });
  });
}

export type SecondFactorFailure = GcError & { reason: 'code_wrong' | 'code_reused' | 'recovery_wrong' | 'no_factor' };

/**
 * Checks a sign-in code: a 6-digit TOTP code within ±1 step whose step is after the last accepted
 * one (so each code works once), or an unused recovery code (used up here).
 */
export async function verifySecondFactor(db: Kysely<Database>, userId: string, code: string, nowMs: number): Promise<Result<{ method: 'totp' | 'recovery' }, SecondFactorFailure>> {
  const fail = (reason: SecondFactorFailure['reason']): Result<never, SecondFactorFailure> => ({
    ok: false,
    error: { code: ErrorCode.MFA_CODE_INVALID, message: 'the code is wrong or was already used; type the code the app shows now, or a recovery code', reason },
  });
  const row = await db.selectFrom('user_mfa').select(['secret', 'confirmed_at']).where('user_id', '=', userId).executeTakeFirst();
  if (!row?.confirmed_at) return fail('no_factor');
  const trimmed = code.trim();
  if (/^\d{6}$/.test(trimmed)) {
    const step = matchTotp(row.secret, trimmed, nowMs);
    if (step === undefined) return fail('code_wrong');
    // Conditional on the last step, so two concurrent uses of one code cannot both pass.
    const used = await db
      .updateTable('user_mfa')
      .set({ last_step: step })
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', String(step))]))
      .returning('user_id')
      .executeTakeFirst();
    return used ? ok({ method: 'totp' }) : fail('code_reused');
  }
  const norm = normalizeRecovery(trimmed);
  if (!/^[a-z0-9]{10}$/.test(norm)) return fail('recovery_wrong');
  const hit = await db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: new Date(nowMs) })
    .where('user_id', '=', userId)
    .where('code_hash', '=', hashSecret(norm))
    .where('used_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return hit ? ok({ method: 'recovery' }) : fail('recovery_wrong');
}

/** Removes a user's factor and recovery codes (admin reset); NOT_FOUND when there was none. */
export async function resetMfa(db: Kysely<Database>, userId: string): Promise<Result<void>> {
  return db.transaction().execute(async (tx) => {
    const r = await tx.deleteFrom('user_mfa').where('user_id', '=', userId).executeTakeFirst();
    await tx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
    return r.numDeletedRows > 0n ? ok(undefined) : err(ErrorCode.NOT_FOUND, `user ${userId} has no second factor`);
  });
}
