/** Reading the audit retention anchors (see migration 0004). */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../infra/db/schema.js';

/** An anchor with numbers for its sequences. */
export interface RetentionAnchor {
  fromSeq: number;
  throughSeq: number;
  lastDeletedHash: string;
  cutoff: Date;
  deletedCount: number;
  ranAt: Date;
}

/** Every anchor, oldest first (the last one says where the kept chain starts). */
export async function retentionAnchors(db: Kysely<Database> | Transaction<Database>): Promise<RetentionAnchor[]> {
  const rows = await db.selectFrom('audit_retention_anchor').selectAll().orderBy('through_seq').execute();
  return rows.map((r) => ({
    fromSeq: Number(r.from_seq),
    throughSeq: Number(r.through_seq),
    lastDeletedHash: r.last_deleted_hash,
    cutoff: new Date(r.cutoff),
    deletedCount: Number(r.deleted_count),
    ranAt: new Date(r.ran_at),
  }));
}

/** The newest anchor's through_seq and hash, if any rows were ever pruned. */
export async function latestAnchor(db: Kysely<Database> | Transaction<Database>): Promise<{ throughSeq: number; lastDeletedHash: string } | undefined> {
  const r = await db.selectFrom('audit_retention_anchor').select(['through_seq', 'last_deleted_hash']).orderBy('through_seq', 'desc').limit(1).executeTakeFirst();
  return r ? { throughSeq: Number(r.through_seq), lastDeletedHash: r.last_deleted_hash } : undefined;
}
