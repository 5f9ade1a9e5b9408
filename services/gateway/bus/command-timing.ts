/**
 * The hops of one stored command as the gateway saw them, for the `Server-Timing` response header
 * (GC_SERVER_TIMING=1; the commands bench reads it). Gateway readings and the agent's stamps are
 * wall-clock ms of the same machine, so differences across the two processes are meaningful there.
 */
import { wallClockMs } from '../../../proto/timing.js';
import type { HeardTiming } from './agent-events.js';

/** Filled in by the command client while the command travels (IssueOptions.timing). */
export interface CommandTiming {
  /** When the gateway published the command, and when the stream acknowledged it. */
  publishMs?: number;
  ackMs?: number;
  /** The final answer's stamps (absent when the agent did not stamp it). */
  answer?: HeardTiming;
}

/** A request's timing: started at `requestMs` (fastify's reply clock), handler entered at `handlerMs`. */
export interface RequestTiming {
  requestMs: number;
  handlerMs: number;
  command: CommandTiming;
}

/** Starts a request's timing inside its handler; `elapsedMs` is fastify's `reply.elapsedTime`. */
export function startRequestTiming(elapsedMs: number): RequestTiming {
  const handlerMs = wallClockMs();
  return { requestMs: handlerMs - elapsedMs, handlerMs, command: {} };
}

const metric = (name: string, from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? [] : [`${name};dur=${(to - from).toFixed(3)}`]);

/** The Server-Timing value of a request ending now: one metric per hop it went through. */
export function serverTimingHeader(t: RequestTiming, endMs = wallClockMs()): string {
  const c = t.command;
  const a = c.answer?.agent;
  return [
    ...metric('auth', t.requestMs, t.handlerMs),
    ...metric('checks', t.handlerMs, c.publishMs ?? endMs),
    ...metric('ack', c.publishMs, c.ackMs),
    ...metric('deliver', c.publishMs, a?.receivedMs),
    ...metric('guard', a?.receivedMs, a?.startedMs),
    ...metric('handler', a?.startedMs, a?.answeredMs),
    ...metric('answer', a?.answeredMs, c.answer?.heardMs),
    ...metric('reply', c.answer?.heardMs, endMs),
    ...metric('ackwait', c.answer?.heardMs, c.ackMs),
    ...metric('gateway', t.requestMs, endMs),
    // The window's ends on the wall clock (a "duration" from 0), so a client on the same machine can
    // tell the way in (its request written → fastify's start) from the way out (end → its response).
    ...metric('start', 0, t.requestMs),
    ...metric('end', 0, endMs),
  ].join(', ');
}
