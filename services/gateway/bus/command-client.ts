/**
 * Issues commands to agents: stored commands are appended to the event stream (audit) and delivered
 * live; the result event is awaited with a deadline. Live-only commands (input, stream control) go
 * over core NATS.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { type Decoded, type MessageInit, encode, message } from '../../../proto/codec.js';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import { type AgentId, newId } from '../../../proto/ids.js';
import { AgentCommand, type AgentCommandKind, subjects } from '../../../proto/subjects.js';
import type { AgentEvents } from './agent-events.js';
import { replayAnswers } from './answer-replay.js';
import { createAuditPublisher } from './audit-publisher.js';
import { type EventIds, processEventIds } from './event-ids.js';
import { waitForAgentLoss } from './presence-wait.js';

export interface Actor {
  userId: string;
  userName: string;
  role: string;
}

export interface IssueOptions {
  actor: Actor;
  timeoutMs: number;
  /** Called for every answer before the final one (backstage output chunks). */
  onProgress?: (msg: Decoded) => void;
  /** Which answer ends the wait (default: the first). */
  isFinal?: (msg: Decoded) => boolean;
  commandId?: string;
  signal?: AbortSignal;
}

export interface CommandClient {
  /** Appends a stored command and resolves with the agent's final answer, TIMEOUT, or BUS_UNAVAILABLE. */
  issue(agentId: AgentId, kind: AgentCommandKind, payload: Omit<MessageInit, 'meta'>, opts: IssueOptions): Promise<Result<{ commandId: string; answer: Decoded }>>;
  /** Publishes a live-only command (input, stream control); nothing is awaited. */
  send(agentId: AgentId, kind: AgentCommandKind, payload: Omit<MessageInit, 'meta'>, actor?: Actor): void;
}

export interface CommandClientOptions {
  /** Heartbeat intervals without a beat after which a waiting command fails with AGENT_OFFLINE (config default 3). */
  offlineAfterBeats?: number;
  log?: (m: string) => void;
  /** Keyed ids of the gateway's own events (config GC_EVENT_ID_KEY_FILE); default: a key of this process. */
  eventIds?: EventIds;
}

export function createCommandClient(nc: NatsConnection, js: JetStreamClient, events: AgentEvents, o: CommandClientOptions = {}): CommandClient {
  const offlineAfterBeats = o.offlineAfterBeats ?? 3;
  const audit = createAuditPublisher(js, o.log ?? (() => {}));
  const eventIds = o.eventIds ?? processEventIds();
  /**
   * A command that was appended but never answered would stay open in the audit log forever: record
   * its failure under its own id (idempotent: the event id derives from the command id, keyed, so the
   * agent that saw the command cannot publish that id first and have the stream drop this event).
   */
  const recordFailure = (agentId: string, kind: AgentCommandKind, commandId: string, actor: Actor, code: ErrorCode, message: string) =>
    audit({ eventType: 'command_failed', eventId: eventIds.commandFailed(commandId), actor, agentId, correlationId: commandId, details: { command: AgentCommand[kind].suffix, error_code: code, message } }).catch(() => {});
  return {
    async issue(agentId, kind, payload, opts) {
      const commandId = opts.commandId ?? newId();
      const msg = message(payload, { id: commandId, agentId, actor: opts.actor });
      let stopListening = () => {};
      // Live delivery and a replay after a reconnect may both bring an answer: each counts once.
      const heard = new Set<string>();
      let finished = false;
      const onAnswer = (m: Decoded) => {
        if (finished || heard.has(m.meta.id)) return;
        heard.add(m.meta.id);
        if (!opts.isFinal || opts.isFinal(m)) {
          finished = true;
          resolveAnswer(m);
        } else opts.onProgress?.(m);
      };
      let resolveAnswer: (m: Decoded) => void = () => {};
      const answered = new Promise<Decoded>((resolve) => {
        resolveAnswer = resolve;
        stopListening = events.onCorrelation(commandId, onAnswer);
      });
      let commandSeq = 0;
      try {
        if (!AgentCommand[kind].stored) throw new Error(`${kind} is not a stored command; use send()`);
        // Listen before publishing: a fast agent may answer before the publish ack returns.
        commandSeq = (await js.publish(subjects.command(agentId, kind), encode(msg), { msgID: commandId })).seq;
      } catch (e) {
        stopListening();
        return err(ErrorCode.BUS_UNAVAILABLE, `could not append the command to the event stream (${(e as Error).message}); retry shortly`);
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), opts.timeoutMs);
      });
      const aborted = new Promise<'aborted'>((resolve) => opts.signal?.addEventListener('abort', () => resolve('aborted'), { once: true }));
      const presence = waitForAgentLoss(events, agentId, offlineAfterBeats);
      // Deaf for a while: look in the stream for what was missed, once per reconnect.
      const publishedAt = Date.now();
      let replayedFor = publishedAt;
      const replayer = setInterval(() => {
        const h = events.hearing();
        if (!h.connected || h.sinceMs <= replayedFor || finished) return;
        replayedFor = h.sinceMs;
        void replayAnswers(js, agentId, kind, commandId, commandSeq, onAnswer);
      }, 250);
      const first = await Promise.race([answered, timedOut, aborted, presence.lost]);
      clearTimeout(timer);
      clearInterval(replayer);
      presence.cancel();
      stopListening();
      if (first === 'timeout') {
        const message = `the agent did not answer within ${opts.timeoutMs} ms (command ${commandId}); it may be busy or offline`;
        await recordFailure(agentId, kind, commandId, opts.actor, ErrorCode.TIMEOUT, message);
        return err(ErrorCode.TIMEOUT, message);
      }
      if (first === 'aborted') return err(ErrorCode.CANCELLED, `command ${commandId} was abandoned by the caller`);
      if ('silentMs' in first) {
        const message = first.stopping
          ? `agent ${agentId} shut down while command ${commandId} was running; it may or may not have completed`
          : `agent ${agentId} stopped sending heartbeats (silent for ${first.silentMs} ms) while command ${commandId} was running; it may have crashed or lost its network, and the command may or may not have run`;
        await recordFailure(agentId, kind, commandId, opts.actor, ErrorCode.AGENT_OFFLINE, message);
        return err(ErrorCode.AGENT_OFFLINE, message);
      }
      return ok({ commandId, answer: first });
    },
    send(agentId, kind, payload, actor) {
      nc.publish(subjects.command(agentId, kind), encode(message(payload, { agentId, actor })));
    },
  };
}
