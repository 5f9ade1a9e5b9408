/**
 * One batch, one transaction: lock checkpoint, apply the unseen events, advance, notify. When the
 * batch fails deterministically (failure-kind.ts), the same transaction is tried again event by
 * event, each under a savepoint: an event that fails on its own is quarantined (quarantine.ts) and
 * the checkpoint passes it in that transaction, so no event can stall a projection.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import type { Database } from '../../infra/db/schema.js';
import { advanceCheckpoint, lockCheckpoint, notifyReadModel } from './checkpoint.js';
import { classifyFailure } from './failure-kind.js';
import { quarantineEvent } from './quarantine.js';
import type { DecodedEvent, ProjectionDef, QuarantinedEvent } from './types.js';

export interface BatchOutcome {
  applied: number;
  skipped: number;
  checkpoint: number;
  /** Events of this batch that failed on their own, now in quarantined_events. */
  quarantined: QuarantinedEvent[];
}

export interface ApplyOptions {
  /** Resolve unqualified table names here first (rebuild writes into shadow tables this way). */
  schema?: string;
  notify?: boolean;
}

type Fold = (trx: Transaction<Database>, fresh: DecodedEvent[]) => Promise<{ applied: number; quarantined: QuarantinedEvent[] }>;

async function inTransaction(db: Kysely<Database>, def: ProjectionDef, events: DecodedEvent[], uptoSeq: number, o: ApplyOptions, fold: Fold): Promise<BatchOutcome> {
  return db.transaction().execute(async (trx) => {
    if (o.schema) await sql`select set_config('search_path', ${`${o.schema}, public`}, true)`.execute(trx);
    const cp = await lockCheckpoint(trx, def.name);
    const fresh = events.filter((e) => e.seq > cp);
    const r = fresh.length > 0 ? await fold(trx, fresh) : { applied: 0, quarantined: [] };
    const next = Math.max(cp, uptoSeq);
    const notify = fresh.length > 0 && o.notify !== false;
    if (next > cp) await advanceCheckpoint(trx, def.name, next, notify);
    else if (notify) await notifyReadModel(trx, def.name);
    return { applied: r.applied, skipped: events.length - fresh.length, checkpoint: next, quarantined: r.quarantined };
  });
}

/** Every event under its own savepoint; a deterministic failure quarantines it, a transient one aborts the transaction. */
function oneByOne(def: ProjectionDef): Fold {
  return async (trx, fresh) => {
    const quarantined: QuarantinedEvent[] = [];
    let applied = 0;
    for (const e of fresh) {
      await sql`savepoint gc_event`.execute(trx);
      try {
        await def.apply(trx, [e]);
        await sql`release savepoint gc_event`.execute(trx);
        applied++;
      } catch (x) {
        const f = classifyFailure(x);
        if (!f.deterministic) throw x;
        await sql`rollback to savepoint gc_event`.execute(trx);
        const q = await quarantineEvent(trx, def.name, e, f);
        await def.quarantined?.(trx, q);
        quarantined.push(q);
      }
    }
    return { applied, quarantined };
  };
}

/** Applies `events` (stream order) and moves the checkpoint to `uptoSeq`; transient DB errors come back as values (retry them). */
export async function applyBatch(db: Kysely<Database>, def: ProjectionDef, events: DecodedEvent[], uptoSeq: number, o: ApplyOptions = {}): Promise<Result<BatchOutcome>> {
  const whole: Fold = async (trx, fresh) => {
    await def.apply(trx, fresh);
    return { applied: fresh.length, quarantined: [] };
  };
  let first: unknown;
  try {
    return ok(await inTransaction(db, def, events, uptoSeq, o, whole));
  } catch (e) {
    first = e;
  }
  if (!classifyFailure(first).deterministic) return err(ErrorCode.READ_MODEL_UNAVAILABLE, `projection ${def.name}: ${(first as Error).message}`);
  try {
    return ok(await inTransaction(db, def, events, uptoSeq, o, oneByOne(def)));
  } catch (e) {
    return err(ErrorCode.READ_MODEL_UNAVAILABLE, `projection ${def.name}: ${(e as Error).message}`);
  }
}
