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

export function createPublisher(nc: NatsConnection, js: JetStreamClient, agentId: AgentId): Publisher {
  return {
    async event(kind, payload, correlationId) {
      const msg = message(payload, { agentId, correlationId: correlationId ?? '' });
      const ack = await js.publish(subjects.agentEvent(agentId, kind), encode(msg), { msgID: msg.meta!.id! });
      return ack.seq;
    },
    frame(sessionId, payload) {
      nc.publish(subjects.frame(agentId, sessionId), encode(message(payload, { agentId })));
    },
  };
}
