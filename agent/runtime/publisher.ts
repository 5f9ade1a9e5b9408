/** Publishes the agent's events: stored ones through JetStream (idempotent by meta.id), frames on core NATS. */
import type { JetStreamClient } from '@nats-io/jetstream';
import { type NatsConnection, headers } from '@nats-io/nats-core';
import { Headers, MAX_MESSAGE_BYTES, type MessageInit, encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { type AgentEventKind, subjects } from '../../proto/subjects.js';
import { formatAgentTiming, wallClockMs } from '../../proto/timing.js';

export interface Publisher {
  /** Appends an event to the stream; resolves with its sequence, or rejects when NATS is unreachable or it is TooLargeForOneMessage. */
  event(kind: AgentEventKind, payload: Omit<MessageInit, 'meta'>, correlationId?: string): Promise<number>;
  /** Fire-and-forget frame on gc.frame.<agent>.<session> (not stored). */
  frame(sessionId: number, payload: Omit<MessageInit, 'meta'>): void;
  /** From now on, answers to `commandId` carry Gc-Timing (the gateway asked for it on the command); optional for fakes. */
  timeAnswers?(commandId: string, receivedMs: number, startedMs: number): void;
}

/**
 * An event larger than the bus takes: nats-server refuses it (its max_payload is MAX_MESSAGE_BYTES,
 * headers included), so it is never sent, and never retried.
 */
export class TooLargeForOneMessage extends Error {
  constructor(readonly bytes: number) {
    super(`the message (${bytes} bytes) is larger than one message may be (${MAX_EVENT_BYTES} bytes)`);
  }
}
/** An encoded event's bytes at most: the server's limit, less room for its headers (Nats-Msg-Id, Gc-Timing). */
export const MAX_EVENT_BYTES = MAX_MESSAGE_BYTES - 4 * 1024;

/** Throws TooLargeForOneMessage for an encoded event the bus would refuse. */
export function checkFitsOneMessage(data: Uint8Array): void {
  if (data.byteLength > MAX_EVENT_BYTES) throw new TooLargeForOneMessage(data.byteLength);
}

/** How long an answer to a command is retried across a NATS outage before it is given up. */
const ANSWER_RETRY_MS = 30_000;
/** Commands whose answers are stamped at once; older ones lose their stamps (diagnostics only). */
const TIMED_COMMANDS = 256;

export function createPublisher(nc: NatsConnection, js: JetStreamClient, agentId: AgentId, answerRetryMs = ANSWER_RETRY_MS): Publisher {
  const timed = new Map<string, { receivedMs: number; startedMs: number }>();
  return {
    async event(kind, payload, correlationId) {
      const msg = message(payload, { agentId, correlationId: correlationId ?? '' });
      const subject = subjects.agentEvent(agentId, kind);
      const data = encode(msg);
      checkFitsOneMessage(data);
      const t = correlationId ? timed.get(correlationId) : undefined;
      const h = t ? headers() : undefined;
      h?.set(Headers.timing, formatAgentTiming({ ...t!, answeredMs: wallClockMs() }));
      // An answer lost in a reconnect would leave the caller waiting for a result that already
      // exists: retry it with the same Nats-Msg-Id (a repeat is a duplicate, not a second fact).
      // Heartbeats and lists are not retried: the next one supersedes them.
      const until = Date.now() + (correlationId ? answerRetryMs : 0);
      for (let attempt = 0; ; attempt++) {
        try {
          return (await js.publish(subject, data, { msgID: msg.meta!.id!, ...(h ? { headers: h } : {}) })).seq;
        } catch (e) {
          if (Date.now() >= until || nc.isClosed()) throw e;
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        }
      }
    },
    frame(sessionId, payload) {
      nc.publish(subjects.frame(agentId, sessionId), encode(message(payload, { agentId })));
    },
    timeAnswers(commandId, receivedMs, startedMs) {
      timed.set(commandId, { receivedMs, startedMs });
      // Maps iterate in insertion order: the first key is the oldest.
      if (timed.size > TIMED_COMMANDS) timed.delete(timed.keys().next().value as string);
    },
  };
}
