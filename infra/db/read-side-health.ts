/**
 * The read side's health as Postgres and the stream tell it: each projection's checkpoint and lag
 * behind the stream and its quarantined events. Shared by /api/health and the CLIs.
 */
import type { Kysely } from 'kysely';
import type { JetStreamManager } from '@nats-io/jetstream';
import { Streams } from '../../proto/subjects.js';
import type { Database } from './schema.js';

export interface ProjectionHealth {
  name: string;
  checkpoint: number;
  /** Events in the stream after the checkpoint; null when the stream could not be asked. */
  lag: number | null;
  quarantined: number;
}

export interface QuarantinedSummary {
  projection: string;
  stream_seq: number;
  subject: string;
  error_code: string;
  error_message: string;
  quarantined_at: Date;
}

export interface ReadSideHealth {
  projections: ProjectionHealth[];
  /** The newest quarantined events, newest first. */
  quarantined_recent: QuarantinedSummary[];
}

/**
 * Events of the stream a projection has not committed: its durable consumer's pending plus
 * unacknowledged messages (a filtered projection's checkpoint stops at its last matching event, so
 * stream last seq - checkpoint would overstate it); without a durable, stream last seq - checkpoint.
 */
export async function projectionLag(jsm: JetStreamManager, def: { name: string }, checkpoint: number, streamLastSeq: number): Promise<number> {
  const c = await jsm.consumers.info(Streams.events.name, def.name).catch(() => undefined);
  if (!c) return Math.max(0, streamLastSeq - checkpoint);
  // Delivered and acked past the checkpoint cannot happen (ack after commit); pending counts from the ack floor.
  return c.num_pending + c.num_ack_pending;
}

/**
 * Checkpoints and quarantine of `names` (default: every projection that has a checkpoint); `lagOf`
 * says how far each is behind the stream (null: unknown).
 */
export async function readSideHealth(
  db: Kysely<Database>,
  names: readonly string[] | undefined,
  lagOf: (name: string, checkpoint: number) => Promise<number | null>,
  recent = 5,
): Promise<ReadSideHealth> {
  const [cps, counts, newest] = await Promise.all([
    db.selectFrom('projection_checkpoints').select(['name', 'last_seq']).execute(),
    db
      .selectFrom('quarantined_events')
      .select(['projection', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('projection')
      .execute(),
    db.selectFrom('quarantined_events').selectAll().orderBy('quarantined_at', 'desc').orderBy('stream_seq', 'desc').limit(recent).execute(),
  ]);
  const cp = new Map(cps.map((c) => [c.name, Number(c.last_seq)]));
  const n = new Map(counts.map((c) => [c.projection, Number(c.n)]));
  return {
    projections: await Promise.all(
      (names ?? [...cp.keys()].sort()).map(async (name) => {
        const checkpoint = cp.get(name) ?? 0;
        return { name, checkpoint, lag: await lagOf(name, checkpoint).catch(() => null), quarantined: n.get(name) ?? 0 };
      }),
    ),
    quarantined_recent: newest.map((q) => ({
      projection: q.projection,
      stream_seq: Number(q.stream_seq),
      subject: q.subject,
      error_code: q.error_code,
      error_message: q.error_message,
      quarantined_at: new Date(q.quarantined_at),
    })),
  };
}
