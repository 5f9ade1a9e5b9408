/** One batch, one transaction: lock checkpoint, apply the unseen events, advance, notify. */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import type { Database } from '../../infra/db/schema.js';
import { advanceCheckpoint, lockCheckpoint, notifyReadModel } from './checkpoint.js';
import type { DecodedEvent, ProjectionDef } from './types.js';

export interface BatchOutcome {
  applied: number;
  skipped: number;
  checkpoint: number;
}

export interface ApplyOptions {
  /** Resolve unqualified table names here first (rebuild writes into shadow tables this way). */
  schema?: string;
  notify?: boolean;
}

/** Applies `events` (stream order) and moves the checkpoint to `uptoSeq`; DB errors come back as values. */
export async function applyBatch(db: Kysely<Database>, def: ProjectionDef, events: DecodedEvent[], uptoSeq: number, o: ApplyOptions = {}): Promise<Result<BatchOutcome>> {
  try {
    const out = await db.transaction().execute(async (trx) => {
      if (o.schema) await sql`select set_config('search_path', ${`${o.schema}, public`}, true)`.execute(trx);
      const cp = await lockCheckpoint(trx, def.name);
      const fresh = events.filter((e) => e.seq > cp);
      if (fresh.length > 0) await def.apply(trx, fresh);
      const next = Math.max(cp, uptoSeq);
      const notify = fresh.length > 0 && o.notify !== false;
      if (next > cp) await advanceCheckpoint(trx, def.name, next, notify);
      else if (notify) await notifyReadModel(trx, def.name);
      return { applied: fresh.length, skipped: events.length - fresh.length, checkpoint: next };
    });
    return ok(out);
  } catch (e) {
    return err(ErrorCode.READ_MODEL_UNAVAILABLE, `projection ${def.name}: ${(e as Error).message}`);
  }
}
