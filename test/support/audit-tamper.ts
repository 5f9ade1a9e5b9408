/** Tampering with the audit table without leaving a trace: one test's edits never reach the next. */
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { type VerifyResult, verifyAudit } from '../../projections/audit/verify.js';

/** Tampers inside a transaction, verifies what the tampering leaves, then rolls it all back. */
export async function verifyTampered(nc: NatsConnection, db: Kysely<Database>, tamper: (trx: Kysely<Database>) => Promise<void>): Promise<VerifyResult> {
  let out: VerifyResult | undefined;
  await db
    .transaction()
    .execute(async (trx) => {
      await tamper(trx);
      out = await verifyAudit(nc, trx);
      throw new Error('rollback');
    })
    .catch((e: Error) => {
      if (e.message !== 'rollback') throw e;
    });
  return out!;
}
