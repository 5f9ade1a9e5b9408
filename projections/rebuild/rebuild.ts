/**
 * Rebuild a projection from sequence 1 into shadow tables (a private schema, same table names,
 * reached through search_path), then swap them in with one transaction while the live worker waits
 * on the checkpoint row lock; afterwards the live worker continues from the rebuilt checkpoint.
 * A projection may add hooks (RebuildHooks): the audit log re-applies its retention before the swap.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { type Kysely, type Transaction, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { ErrorCode, type GcError, type Result, err, ok } from '../../proto/errors.js';
import { auditRebuildHooks } from '../audit/retention-rebuild.js';
import { applyBatch } from '../runtime/apply-batch.js';
import { createShadowTable } from './shadow-tables.js';
import { lockCheckpoint, notifyReadModel } from '../runtime/checkpoint.js';
import { decodeEvent } from '../runtime/decode-event.js';
import { type RawEvent, readStream } from '../runtime/read-stream.js';
import type { DecodedEvent, ProjectionDef } from '../runtime/types.js';

export interface RebuildOptions {
  nc: NatsConnection;
  db: Kysely<Database>;
  def: ProjectionDef;
  /** Called after each batch with events read so far and the stream's last sequence. */
  onProgress?: (readSeq: number, lastSeq: number) => void;
  batch?: number;
}

export interface RebuildResult {
  events: number;
  undecodable: number;
  checkpoint: number;
  ms: number;
}

/** What a projection needs around its rebuild beyond the generic path (the audit log's retention). */
export interface RebuildHooks {
  /** Refuses the rebuild before any work; the error says why. */
  precheck?(nc: NatsConnection, db: Kysely<Database>): Promise<Result<void>>;
  /** Inside the swap transaction, under the checkpoint lock, on the shadow schema's tables; an error aborts the swap. */
  beforeSwap?(trx: Transaction<Database>, shadow: string): Promise<Result<void>>;
}

const hooksByName: Readonly<Record<string, RebuildHooks>> = { audit: auditRebuildHooks };

/** A hook's refusal, carried out of the swap transaction so that it rolls back. */
class Refused extends Error {
  constructor(readonly error: GcError) {
    super(error.message);
  }
}

const ident = (s: string) => sql.id(s);

/** Rebuilds `def` and swaps the result in; errors as values. */
export async function rebuildProjection(o: RebuildOptions): Promise<Result<RebuildResult>> {
  const started = Date.now();
  const shadow = `gc_rebuild_${o.def.name}`;
  const retired = `gc_retired_${o.def.name}`;
  const tables = [...o.def.tables];
  const hooks = hooksByName[o.def.name] ?? {};
  let events = 0;
  let undecodable = 0;
  const pre = await hooks.precheck?.(o.nc, o.db);
  if (pre && !pre.ok) return pre;
  try {
    await sql`drop schema if exists ${ident(shadow)} cascade`.execute(o.db);
    await sql`create schema ${ident(shadow)}`.execute(o.db);
    for (const t of [...tables, 'projection_checkpoints']) {
      await createShadowTable(o.db, shadow, t);
    }
    // One transaction in flight while the next batch is fetched and decoded: reading and writing
    // overlap instead of taking turns. Failures are kept as values until the reader hands over.
    let inflight: Promise<void> = Promise.resolve();
    let failure: string | undefined;
    const apply = async (batch: RawEvent[], lastSeq: number) => {
      const decoded: DecodedEvent[] = [];
      for (const r of batch) {
        if (o.def.relevant && !o.def.relevant(r.subject)) continue;
        const d = decodeEvent(r.subject, r.seq, r.data, r.timeMs);
        if (d.ok) decoded.push(d.value);
        else undecodable++;
      }
      const upto = batch[batch.length - 1]?.seq ?? 0;
      await inflight;
      if (failure) throw new Error(failure);
      inflight = applyBatch(o.db, o.def, decoded, upto, { schema: shadow, notify: false }).then((res) => {
        if (!res.ok) {
          failure = res.error.message;
          return;
        }
        events += batch.length;
        o.onProgress?.(upto, lastSeq);
      });
    };
    const readFrom = async (from: number, to?: number) => {
      let last = 0;
      await readStream(o.nc, { filterSubject: o.def.filterSubject, fromSeq: from, toSeq: to, batch: o.batch ?? 5000 }, async (b) => {
        last = b[b.length - 1]?.seq ?? last;
        await apply(b, to ?? last);
      });
      await inflight;
      if (failure) throw new Error(failure);
      return last;
    };
    const liveCheckpoint = async () => Number((await o.db.selectFrom('projection_checkpoints').select('last_seq').where('name', '=', o.def.name).executeTakeFirst())?.last_seq ?? 0);
    let rebuilt = await readFrom(1);
    for (let attempt = 0; attempt < 50; attempt++) {
      const live = await liveCheckpoint();
      // The live worker may have moved on while we read: catch up to it before taking the lock.
      if (live > rebuilt) rebuilt = Math.max(rebuilt, (await readFrom(rebuilt + 1, live)) || live);
      const swapped = await o.db.transaction().execute(async (trx) => {
        const cp = await lockCheckpoint(trx, o.def.name);
        if (cp > rebuilt) return false;
        const hooked = await hooks.beforeSwap?.(trx, shadow);
        if (hooked && !hooked.ok) throw new Refused(hooked.error);
        await sql`create schema if not exists ${ident(retired)}`.execute(trx);
        for (const t of tables) {
          await sql`alter table ${sql.id('public', t)} set schema ${ident(retired)}`.execute(trx);
          await sql`alter table ${sql.id(shadow, t)} set schema public`.execute(trx);
        }
        await sql`drop schema ${ident(retired)} cascade`.execute(trx);
        await sql`update projection_checkpoints set last_seq = greatest(last_seq, ${rebuilt}), updated_at = now() where name = ${o.def.name}`.execute(trx);
        await notifyReadModel(trx, o.def.name);
        return true;
      });
      if (swapped) {
        await sql`drop schema if exists ${ident(shadow)} cascade`.execute(o.db);
        return ok({ events, undecodable, checkpoint: rebuilt, ms: Date.now() - started });
      }
    }
    return err(ErrorCode.CONFLICT, `rebuild of ${o.def.name} could not catch up with the live worker`);
  } catch (e) {
    await sql`drop schema if exists ${ident(shadow)} cascade`.execute(o.db).catch(() => {});
    if (e instanceof Refused) return err(e.error.code, e.error.message);
    return err(ErrorCode.READ_MODEL_UNAVAILABLE, `rebuild of ${o.def.name} failed: ${(e as Error).message}`);
  }
}
