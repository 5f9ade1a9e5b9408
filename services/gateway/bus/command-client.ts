/**
 * Issues commands to agents: stored commands are appended to the event stream (audit) and delivered
 * live; the answers are read as an async iterator (command-answers.ts) under one AbortSignal that
 * joins the caller's, the deadline and the agent's loss. Live-only commands (input, stream control)
 * go over core NATS.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { type NatsConnection, headers } from '@nats-io/nats-core';
import { type Decoded, Headers, type MessageInit, encode, message } from '../../../proto/codec.js';
import { ErrorCode, type GcError, type Result, err, ok } from '../../../proto/errors.js';
import { type AgentId, newId } from '../../../proto/ids.js';
import { AgentCommand, type AgentCommandKind, subjects } from '../../../proto/subjects.js';
import { TIMING_WANTED, wallClockMs } from '../../../proto/timing.js';
import type { AgentEvents, HeardTiming } from './agent-events.js';
import { type AnswerStream, answerStream } from './command-answers.js';
import type { RecordCommandFailure } from './command-failures.js';
import type { CommandTiming } from './command-timing.js';
import { replayAnswers } from './answer-replay.js';
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
  /** Given: the command asks the agent for stamps (Gc-Timing) and this is filled in as it travels. */
  timing?: CommandTiming;
}

export interface CommandClient {
  /**
   * Appends a stored command and resolves with the agent's final answer, or TIMEOUT, AGENT_OFFLINE,
   * CANCELLED or BUS_UNAVAILABLE; throws only on a programming error (a live-only kind).
   */
  issue(agentId: AgentId, kind: AgentCommandKind, payload: Omit<MessageInit, 'meta'>, opts: IssueOptions): Promise<Result<{ commandId: string; answer: Decoded }>>;
  /** Publishes a live-only command (input, stream control); nothing is awaited. */
  send(agentId: AgentId, kind: AgentCommandKind, payload: Omit<MessageInit, 'meta'>, actor?: Actor): void;
}

/** What the client needs from the outside; `createCommandClient` wires the real ones, unit tests fakes. */
export interface CommandPorts {
  /** Appends a stored command (Nats-Msg-Id = its id) and returns its stream sequence; `timed`: with Gc-Timing. */
  append(subject: string, data: Uint8Array, commandId: string, timed: boolean): Promise<number>;
  /** Publishes a live-only command. */
  publish(subject: string, data: Uint8Array): void;
  /** The answers to `commandId`, listening from now on, until `signal` aborts. */
  answers(agentId: AgentId, kind: AgentCommandKind, commandId: string, signal: AbortSignal): AnswerStream;
  /** Calls `lost` once the agent stops heartbeating or says it is stopping; returns a cancel. */
  watchAgent(agentId: AgentId, lost: (why: GcError) => void): () => void;
  /** A signal that aborts after `ms` (AbortSignal.timeout). */
  deadline(ms: number): AbortSignal;
  /** Closes the audit row of a command that was appended but not answered. */
  recordFailure: RecordCommandFailure;
  /** The stamps a timed answer carried. */
  timingOf?(answer: Decoded): HeardTiming | undefined;
}

/** The command client over its ports: every branch runs with fakes (test/unit/command-client.unit.test.ts). */
export function commandClient(ports: CommandPorts): CommandClient {
  return {
    async issue(agentId, kind, payload, opts) {
      if (!AgentCommand[kind].stored) throw new TypeError(`${kind} is not a stored command; use send()`);
      const commandId = opts.commandId ?? newId();
      if (opts.signal?.aborted) return err(ErrorCode.CANCELLED, `command ${commandId} was abandoned by the caller before it was sent`);
      const deadline = ports.deadline(opts.timeoutMs);
      const agentLost = new AbortController();
      const signal = AbortSignal.any([deadline, agentLost.signal, ...(opts.signal ? [opts.signal] : [])]);
      const stopWatching = ports.watchAgent(agentId, (why) => agentLost.abort({ code: why.code, message: `${why.message} (command ${commandId})` }));
      // Listen before publishing: a fast agent may answer before the publish ack returns.
      const answers = ports.answers(agentId, kind, commandId, signal);
      try {
        const msg = message(payload, { id: commandId, agentId, actor: opts.actor });
        const timing = opts.timing;
        let seq: number;
        try {
          if (timing) timing.publishMs = wallClockMs();
          seq = await ports.append(subjects.command(agentId, kind), encode(msg), commandId, timing !== undefined);
          if (timing) timing.ackMs = wallClockMs();
        } catch (e) {
          return err(ErrorCode.BUS_UNAVAILABLE, `could not append the command to the event stream (${(e as Error).message}); retry shortly`);
        }
        answers.replayFrom(seq);
        for await (const m of answers) {
          if (!opts.isFinal || opts.isFinal(m)) {
            if (timing) timing.answer = ports.timingOf?.(m);
            return ok({ commandId, answer: m });
          }
          opts.onProgress?.(m);
        }
        const failure = whyStopped(signal, { deadline, agentLost: agentLost.signal, caller: opts.signal }, answers, commandId, opts.timeoutMs);
        if (failure.record) await ports.recordFailure({ agentId, kind, commandId, actor: opts.actor, code: failure.code, message: failure.message });
        return err(failure.code, failure.message);
      } finally {
        answers.close();
        stopWatching();
      }
    },
    send(agentId, kind, payload, actor) {
      ports.publish(subjects.command(agentId, kind), encode(message(payload, { agentId, actor })));
    },
  };
}

/** Why the answers ended without a final one; `record`: the command's audit row must be closed as failed. */
function whyStopped(
  signal: AbortSignal,
  sources: { deadline: AbortSignal; agentLost: AbortSignal; caller: AbortSignal | undefined },
  answers: AnswerStream,
  commandId: string,
  timeoutMs: number,
): GcError & { record: boolean } {
  // The first source to abort gave the joined signal its reason.
  if (sources.agentLost.aborted && signal.reason === sources.agentLost.reason) return { ...(sources.agentLost.reason as GcError), record: true };
  if (sources.caller?.aborted && signal.reason === sources.caller.reason) return { code: ErrorCode.CANCELLED, message: `command ${commandId} was abandoned by the caller`, record: false };
  if (sources.deadline.aborted) return { code: ErrorCode.TIMEOUT, message: `the agent did not answer within ${timeoutMs} ms (command ${commandId}); it may be busy or offline`, record: true };
  if (answers.overflowed) return { code: ErrorCode.CAPACITY_EXCEEDED, message: `command ${commandId} sent more answers than the gateway holds unread`, record: true };
  return { code: ErrorCode.INTERNAL, message: `the answers to command ${commandId} ended early`, record: true };
}

export interface CommandClientOptions {
  /** Heartbeat intervals without a beat after which a waiting command fails with AGENT_OFFLINE (config default 3). */
  offlineAfterBeats?: number;
  /** How a command that got no answer is recorded (command-failures.ts over the gateway's audit publisher). */
  recordFailure: RecordCommandFailure;
}

/** The command client over NATS: core publish, JetStream append and replay, the gateway's agent events. */
export function createCommandClient(nc: NatsConnection, js: JetStreamClient, events: AgentEvents, o: CommandClientOptions): CommandClient {
  const offlineAfterBeats = o.offlineAfterBeats ?? 3;
  return commandClient({
    append: async (subject, data, commandId, timed) => {
      const h = timed ? headers() : undefined;
      h?.set(Headers.timing, TIMING_WANTED);
      return (await js.publish(subject, data, { msgID: commandId, ...(h ? { headers: h } : {}) })).seq;
    },
    publish: (subject, data) => nc.publish(subject, data),
    answers: (agentId, kind, commandId, signal) =>
      answerStream(
        {
          live: (id, fn) => events.onCorrelation(agentId, id, fn),
          onReconnect: (fn) => events.onReconnect(fn),
          replay: (id, fromSeq, fn) => replayAnswers(js, agentId, kind, id, fromSeq, fn),
        },
        commandId,
        signal,
      ),
    watchAgent: (agentId, lost) => {
      const w = waitForAgentLoss(events, agentId, offlineAfterBeats);
      void w.lost.then((l) =>
        lost({
          code: ErrorCode.AGENT_OFFLINE,
          message: l.stopping
            ? `agent ${agentId} shut down while the command was running; it may or may not have completed`
            : `agent ${agentId} stopped sending heartbeats (silent for ${l.silentMs} ms) while the command was running; it may have crashed or lost its network, and the command may or may not have run`,
        }),
      );
      return w.cancel;
    },
    deadline: (ms) => AbortSignal.timeout(ms),
    recordFailure: o.recordFailure,
    timingOf: (m) => events.timingOf(m),
  });
}
