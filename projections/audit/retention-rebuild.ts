/**
 * The audit log's retention during `projections rebuild audit`. The rebuild replays from sequence 1,
 * so its shadow table briefly holds the pruned rows again; inside the swap transaction (under the
 * checkpoint lock, so no prune runs in between) every shadow row at or below the newest anchor is
 * deleted again, after checking that the rebuilt chain has the anchor's hash there. The swapped-in
 * table therefore equals the live one: pruned rows never come back, the anchor stays valid.
 *
 * A rebuild needs the stream from sequence 1: once stream retention has aged events out, the fold's
 * state and the chain's hashes before the first kept event are unknown, and a rebuild would re-chain
 * the log from there and drop every stored row older than the stream. It is refused instead.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { sql } from 'kysely';
import { ErrorCode, err, ok } from '../../proto/errors.js';
import { Streams } from '../../proto/subjects.js';
import type { RebuildHooks } from '../rebuild/rebuild.js';
import { latestAnchor } from './retention-anchor.js';

export const auditRebuildHooks: RebuildHooks = {
  async precheck(nc) {
    const info = await (await jetstreamManager(nc)).streams.info(Streams.events.name);
    if (info.state.first_seq <= 1) return ok(undefined);
    return err(
      ErrorCode.CONFLICT,
      `the event stream starts at seq ${info.state.first_seq} (stream retention aged out older events): an audit rebuild would re-chain the log from there and drop every stored row older than the stream, so it is refused; audit verify still checks the log`,
    );
  },

  async beforeSwap(trx, shadow) {
    const anchor = await latestAnchor(trx);
    if (!anchor) return ok(undefined);
    const deleted = await sql<{ seq: string; hash: string }>`delete from ${sql.id(shadow, 'events')} where seq <= ${anchor.throughSeq} returning seq, hash`.execute(trx);
    const at = deleted.rows.find((r) => Number(r.seq) === anchor.throughSeq);
    if (at?.hash === anchor.lastDeletedHash) return ok(undefined);
    const why = at ? 'disagrees with' : 'has no row for';
    return err(ErrorCode.CONFLICT, `the rebuilt audit chain ${why} the retention anchor at seq ${anchor.throughSeq}; nothing was swapped: run audit verify`);
  },
};
