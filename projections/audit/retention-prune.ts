/**
 * Postgres audit retention: deletes the chain's prefix of rows created before the cutoff and records
 * an anchor in the same transaction. Each transaction holds the audit checkpoint's row lock, as the
 * projection's batches and a rebuild's swap do, so a prune never interleaves with either: the head
 * the projection chains onto and the anchor always agree.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { lockCheckpoint } from '../runtime/checkpoint.js';
import { MAX_RETENTION_DAYS, prunablePrefix, retentionCutoff } from './retention-cutoff.js';

export interface PruneOptions {
  /** Delete rows created more than this many days before `now`. */
  olderThanDays: number;
  /** Default: the wall clock. */
  now?: Date;
  /** Rows per transaction (keeps the projection's wait on the lock short); default 20,000. */
  chunkRows?: number;
  /** Stops between transactions (process shutdown); what was pruned stays pruned and anchored. */
  signal?: AbortSignal;
}

export interface PruneOutcome {
  cutoff: Date;
  deleted: number;
  /** Seq range deleted by this run, when it deleted anything. */
  fromSeq?: number;
  throughSeq?: number;
  /** Chain hash of the row at throughSeq: where the kept chain starts. */
  lastDeletedHash?: string;
  /** The first row kept, if any. */
  firstKept?: { seq: number; createdAt: Date };
}

const AUDIT = 'audit';

/** Deletes the prefix of `events` created before now - olderThanDays, anchoring it; errors as values. */
export async function pruneAudit(db: Kysely<Database>, o: PruneOptions): Promise<Result<PruneOutcome>> {
  if (!Number.isFinite(o.olderThanDays) || o.olderThanDays < 0 || o.olderThanDays > MAX_RETENTION_DAYS)
    return err(ErrorCode.VALIDATION_FAILED, `older-than-days must be a number from 0 to ${MAX_RETENTION_DAYS}`);
  const cutoff = retentionCutoff(o.now ?? new Date(), o.olderThanDays);
  const chunk = o.chunkRows ?? 20_000;
  const out: PruneOutcome = { cutoff, deleted: 0 };
  let anchorId: string | undefined;
  const ranAt = new Date();
  try {
    for (;;) {
      const more = await db.transaction().execute(async (trx) => {
        await lockCheckpoint(trx, AUDIT);
        const rows = await trx.selectFrom('events').select(['seq', 'created_at', 'hash']).orderBy('seq').limit(chunk).execute();
        const n = prunablePrefix(rows, cutoff);
        const kept = rows[n];
        out.firstKept = kept ? { seq: Number(kept.seq), createdAt: new Date(kept.created_at) } : undefined;
        if (n === 0) return false;
        const first = rows[0]!;
        const last = rows[n - 1]!;
        const del = await trx.deleteFrom('events').where('seq', '<=', last.seq).executeTakeFirst();
        // Under the lock nothing else writes events; a different count means the table is not what we read.
        if (Number(del.numDeletedRows) !== n) throw new Error(`expected to delete ${n} rows through seq ${last.seq}, deleted ${del.numDeletedRows}`);
        if (anchorId === undefined) {
          const a = await trx
            .insertInto('audit_retention_anchor')
            .values({ from_seq: first.seq, through_seq: last.seq, last_deleted_hash: last.hash, cutoff, deleted_count: n, ran_at: ranAt })
            .returning('id')
            .executeTakeFirstOrThrow();
          anchorId = a.id;
          out.fromSeq = Number(first.seq);
        } else {
          await trx
            .updateTable('audit_retention_anchor')
            .set({ through_seq: last.seq, last_deleted_hash: last.hash, deleted_count: sql`deleted_count + ${n}` })
            .where('id', '=', anchorId!)
            .execute();
        }
        out.deleted += n;
        out.throughSeq = Number(last.seq);
        out.lastDeletedHash = last.hash;
        return n === rows.length;
      });
      if (!more || o.signal?.aborted) return ok(out);
    }
  } catch (e) {
    const done = out.deleted > 0 ? ` (${out.deleted} rows through seq ${out.throughSeq} were pruned and anchored before it)` : '';
    return err(ErrorCode.READ_MODEL_UNAVAILABLE, `audit prune failed: ${(e as Error).message}${done}`);
  }
}
