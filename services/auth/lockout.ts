/** The failed-login counter and lockout, shared by the password step and the second-factor step. */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';

/**
 * Counts one failure for `userId`; true when this failure locked the account. One statement, so
 * concurrent failures all count and exactly one of them sets the lock.
 */
export async function recordLoginFailure(db: Kysely<Database>, userId: string, policy: { lockAfterFailures: number; lockMinutes: number }): Promise<boolean> {
  const n = policy.lockAfterFailures;
  const upd = await db
    .updateTable('users')
    .set({
      failed_logins: sql<number>`case when failed_logins + 1 >= ${n} then 0 else failed_logins + 1 end`,
      locked_until: sql<Date | null>`case when failed_logins + 1 >= ${n} then now() + make_interval(mins => ${policy.lockMinutes}) else locked_until end`,
    })
    .where('id', '=', userId)
    .returning(['locked_until'])
    .executeTakeFirst();
  return !!upd?.locked_until && upd.locked_until > new Date();
}

/** Clears the counter and any lock after a complete sign-in. */
export async function clearLoginFailures(db: Kysely<Database>, userId: string): Promise<void> {
  await db.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', userId).execute();
}
