/** Publishes the agent's events: stored ones through JetStream (idempotent by meta.id), frames on core NATS. */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { encode, type MessageInit, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { type AgentEventKind, subjects } from '../../proto/subjects.js';

export interface Publisher {
  /** Appends an event to the stream; resolves with its sequence, or rejects when NATS is unreachable. */
  event(kind: AgentEventKind, payload: Omit<MessageInit, 'meta'>, correlationId?: string): Promise<number>;
  /** Fire-and-forget frame on gc.frame.<agent>.<session> (not stored). */
  frame(sessionId: number, payload: Omit<MessageInit, 'meta'>): void;
}

/** How long an answer to a command is retried across a NATS outage before it is given up. */
const ANSWER_RETRY_MS = 30_000;

export function createPublisher(nc: NatsConnection, js: JetStreamClient, agentId: AgentId, answerRetryMs = ANSWER_RETRY_MS): Publisher {
  return {
    async event(kind, payload, correlationId) {
      const msg = message(payload, { agentId, correlationId: correlationId ?? '' });
      const subject = subjects.agentEvent(agentId, kind);
      const data = encode(msg);
      // An answer lost in a reconnect would leave the caller waiting for a result that already
      // exists: retry it with the same Nats-Msg-Id (a repeat is a duplicate, not a second fact).
      // Heartbeats and lists are not retried: the next one supersedes them.
      const until = Date.now() + (correlationId ? answerRetryMs : 0);
      for (let attempt = 0; ; attempt++) {
        try {
          return (await js.publish(subject, data, { msgID: msg.meta!.id! })).seq;
        } catch (e) {
          if (Date.now() >= until || nc.isClosed()) throw e;
          await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        }
      }
    },
    frame(sessionId, payload) {
      nc.publish(subjects.frame(agentId, sessionId), encode(message(payload, { agentId })));
    },
  };
}
