/** Creates or updates our JetStream streams at start-up (idempotent). */
import { DiscardPolicy, type JetStreamManager, RetentionPolicy, StorageType, type StreamConfig, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
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

/**
 * A cluster that has just started elects its JetStream meta leader a moment later; until then the
 * API answers "jetstream is not enabled" or cannot place a replicated store. Those answers mean "not
 * yet" only, so they are retried until `timeoutMs`; anything else is thrown at once.
 */
export async function ensureStreamsWhenReady(nc: NatsConnection, o: StreamOptions = {}, opts: { timeoutMs?: number; onWait?: (why: string) => void } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (let said = false; ; ) {
    try {
      return await ensureStreams(await jetstreamManager(nc), o);
    } catch (e) {
      const why = (e as Error).message;
      if (Date.now() > deadline || !NOT_READY_YET.test(why)) throw e;
      if (!said) opts.onWait?.(`waiting for JetStream: ${why}`);
      said = true;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const NOT_READY_YET = /jetstream is not enabled|error creating store for stream|no suitable peers for placement|insufficient resources|jetstream system temporarily unavailable|timeout/i;
