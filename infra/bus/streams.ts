/** Creates or updates our JetStream streams at start-up (idempotent). */
import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { Streams } from '../../proto/subjects.js';

export interface StreamOptions {
  /** Event retention; 0 keeps events forever. Projections never delete (deny_delete, deny_purge). */
  maxAgeSecs?: number;
  /** Window in which a repeated Nats-Msg-Id is a duplicate. */
  duplicateWindowSecs?: number;
  replicas?: number;
}

export const streamDefaults = { maxAgeSecs: 0, duplicateWindowSecs: 120, replicas: 1 } as const;

export function eventStreamConfig(o: StreamOptions = {}): Partial<StreamConfig> & { name: string } {
  const opts = { ...streamDefaults, ...o };
  return {
    name: Streams.events.name,
    subjects: [...Streams.events.subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: opts.maxAgeSecs * 1_000_000_000,
    duplicate_window: opts.duplicateWindowSecs * 1_000_000_000,
    num_replicas: opts.replicas,
    deny_delete: true,
    deny_purge: true,
    allow_direct: true,
  };
}

/** Adds the event stream, or updates it when its configuration changed. */
export async function ensureStreams(jsm: JetStreamManager, o: StreamOptions = {}): Promise<void> {
  const cfg = eventStreamConfig(o);
  try {
    await jsm.streams.info(cfg.name);
    await jsm.streams.update(cfg.name, cfg);
  } catch (e) {
    if ((e as { name?: string }).name !== 'StreamNotFoundError' && !/not found/i.test((e as Error).message)) throw e;
    await jsm.streams.add(cfg);
  }
}
