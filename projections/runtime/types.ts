/** The shape of a projection and of the events it folds. */
import type { Transaction } from 'kysely';
import type { Decoded } from '../../proto/codec.js';
import type { ParsedSubject } from '../../proto/subjects.js';
import type { Database } from '../../infra/db/schema.js';

/** One decoded event of the stream with its position. */
export interface DecodedEvent {
  seq: number;
  subject: string;
  parsed: ParsedSubject;
  msg: Decoded;
  /**
   * When it happened, ms since epoch, for stored times: the producer's clock (meta.at_ms) when
   * believable, else the stream's (runtime/event-time.ts).
   */
  atMs: number;
  /** When the stream stored it (the trusted clock); undefined only in pure tests. */
  streamMs?: number;
  /** The message bytes as stored (quarantine records their sha256). */
  data: Uint8Array;
}

/** A read model fed by one durable consumer. `apply` gets only events it has not seen, in stream order. */
export interface ProjectionDef {
  /** Also the durable consumer's name and the checkpoint key. */
  name: string;
  /** One subject filter (nats-server 2.9 allows one); undefined = the whole stream. */
  filterSubject?: string;
  /**
   * Subjects within the filter this projection folds; others are not decoded, only passed by the
   * checkpoint (a 2.9 filter cannot say "audit and switched", so such projections read everything).
   */
  relevant?(subject: string): boolean;
  /** Tables this projection owns and rebuild swaps (besides its checkpoint row). */
  tables: readonly string[];
  apply(trx: Transaction<Database>, events: DecodedEvent[]): Promise<void>;
  /**
   * Called in the transaction that quarantines one of this projection's events (the audit log writes
   * a chained row for it, so its chain accounts for every sequence).
   */
  quarantined?(trx: Transaction<Database>, q: QuarantinedEvent): Promise<void>;
}

/** An event skipped because applying it failed deterministically (a quarantined_events row). */
export interface QuarantinedEvent {
  seq: number;
  subject: string;
  /** sha256 of the message bytes, hex. */
  sha256: string;
  /** SQLSTATE or JS error name. */
  errorCode: string;
  errorMessage: string;
  /** When it was first quarantined (the audit row's created_at: a rebuild keeps it). */
  quarantinedAt: Date;
}

export interface ProjectionStats {
  name: string;
  /** Events applied to the read model (not counting skipped redeliveries). */
  applied: number;
  /** Redelivered or replayed events at or below the checkpoint. */
  skipped: number;
  /** Undecodable messages, term()ed. */
  undecodable: number;
  /** Failed transactions (each retried). */
  dbErrors: number;
  /** Events skipped after a deterministic failure (rows of quarantined_events). */
  quarantined: number;
  /** Times the consumer was repositioned at the checkpoint after a delivery gap. */
  resyncs: number;
  checkpoint: number;
  /** Events applied per second over the last few seconds. */
  eventsPerSec: number;
  /** Messages the server still holds for us plus those queued here. */
  lag: number;
  /** The last error message, if any. */
  lastError?: string;
  /** True while the writer waits for Postgres to come back. */
  paused: boolean;
}

export interface ProjectionWorker {
  readonly name: string;
  stats(): ProjectionStats;
  /** Resolves once the checkpoint reaches `seq` (used by tests and the rebuild CLI). */
  caughtUp(seq: number, timeoutMs?: number): Promise<boolean>;
  /** Stops fetching, applies what is already queued, acks, and returns. */
  stop(): Promise<void>;
}
