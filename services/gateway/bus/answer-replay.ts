/**
 * Answers an agent published while this gateway was reconnecting never reach its core
 * subscriptions, but they are in the event stream: read one agent's answer subject from the
 * command's own sequence and hand over those that answer the command.
 */
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { type Decoded, decode } from '../../../proto/codec.js';
import type { AgentId } from '../../../proto/ids.js';
import { type AgentCommandKind, type AgentEventKind, Streams, subjects } from '../../../proto/subjects.js';

/** Which event answers each stored command. */
export const answerKind: Partial<Record<AgentCommandKind, AgentEventKind>> = { switchSession: 'switched', backstage: 'backstageOutput' };

/** Delivers, in stream order, the stored answers to `commandId` published after `fromSeq`; never throws. */
export async function replayAnswers(js: JetStreamClient, agentId: AgentId, kind: AgentCommandKind, commandId: string, fromSeq: number, onMsg: (m: Decoded) => void): Promise<void> {
  const answer = answerKind[kind];
  if (!answer) return;
  try {
    const consumer = await js.consumers.get(Streams.events.name, {
      filter_subjects: subjects.agentEvent(agentId, answer),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fromSeq,
    });
    try {
      for (;;) {
        const it = await consumer.fetch({ max_messages: 500, expires: 2000 });
        let seen = 0;
        let drained = false;
        for await (const m of it) {
          seen++;
          const r = decode(m.data, m.subject);
          if (r.ok && r.value.meta.correlationId === commandId) onMsg(r.value);
          if (m.info.pending === 0) {
            drained = true;
            break;
          }
        }
        if (drained || seen === 0) return;
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
  } catch {
    // Best effort: the command still ends by its answer, AGENT_OFFLINE or TIMEOUT.
  }
}
