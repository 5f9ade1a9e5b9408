/** Helpers shared by the reliability tests: a bus connection with a service's creds, stream facts, read-model queries. */
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import pg from 'pg';
import { connectBus } from '../../proto/bus/connect.js';
import type { Stack } from '../../infra/launcher/stack.js';
import { Streams } from '../../proto/subjects.js';

/** A NATS connection as one of the stack's service users (launcher may publish anything). */
export async function busAs(stack: Stack, kind: 'launcher' | 'gateway' | 'auditor'): Promise<NatsConnection> {
  return connectBus({ servers: stack.natsUrls, name: `reliability-${kind}`, credsFile: await stack.credsFor(kind), caFile: stack.natsCa });
}

/** The event stream's last sequence. */
export async function lastSeq(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(Streams.events.name)).state.last_seq;
}

/** Stream sequence of the last message on `subject`, or 0. */
export async function lastSeqOn(jsm: JetStreamManager, subject: string): Promise<number> {
  try {
    return (await jsm.streams.getMessage(Streams.events.name, { last_by_subj: subject }))?.seq ?? 0;
  } catch {
    return 0;
  }
}

export async function checkpoints(db: pg.Pool): Promise<Map<string, number>> {
  const r = await db.query<{ name: string; last_seq: string }>('select name, last_seq from projection_checkpoints');
  return new Map(r.rows.map((x) => [x.name, Number(x.last_seq)]));
}

/** Resolves once every projection's checkpoint reached `seq` (machines-like ones may stop short: filtered). */
export async function waitForCheckpoint(db: pg.Pool, name: string, seq: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const cp = await checkpoints(db).catch(() => new Map<string, number>());
    if ((cp.get(name) ?? 0) >= seq) return;
    if (Date.now() > until) throw new Error(`projection ${name} did not reach ${seq} (at ${cp.get(name)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { jetstreamManager, pg };
