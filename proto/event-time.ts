/**
 * Which clock a stored time comes from. The stream's own timestamp (set by nats-server when it
 * stored the message) is the trusted clock. An agent's meta.at_ms is used only within a bound of it:
 * an enrolled agent could otherwise write any time into the read models and the audit log, or one
 * Postgres refuses (timestamp out of range) and stall a projection. Gateway-published events
 * (commands, gc.audit.>: agents cannot publish there) keep their producer clock when it is a
 * storable time, since tests and audits reason about the gateway's own clock.
 */
import type { ParsedSubject } from './subjects.js';

const DAY = 86_400_000;
/** How far an agent's clock may lag the stream's: a backlog published after a network outage. */
export const AGENT_CLOCK_BEHIND_MS = DAY;
/** How far an agent's clock may run ahead of the stream's: ordinary skew. */
export const AGENT_CLOCK_AHEAD_MS = 5 * 60_000;
/** 9999-12-31T23:59:59.999Z: a time every reader (JS Date, Postgres, ISO strings) handles. */
export const MAX_STORABLE_MS = 253402300799999;

const storable = (ms: number) => Number.isFinite(ms) && ms >= 0 && ms <= MAX_STORABLE_MS;

/**
 * The time an event happened, for storing: the producer's clock when it is believable, else the
 * stream's. Without a stream time (pure tests), the producer's clock clamped to a storable time.
 */
export function eventTimeMs(parsed: ParsedSubject, producerMs: number, streamMs: number | undefined): number {
  if (streamMs === undefined) return storable(producerMs) ? producerMs : Math.min(MAX_STORABLE_MS, Math.max(0, Number.isFinite(producerMs) ? producerMs : 0));
  if (parsed.family !== 'agent') return storable(producerMs) ? producerMs : streamMs;
  return producerMs >= streamMs - AGENT_CLOCK_BEHIND_MS && producerMs <= streamMs + AGENT_CLOCK_AHEAD_MS ? producerMs : streamMs;
}

/**
 * An agent-reported instant (a logon time): kept when in [epoch, stream time + 1 day], else null
 * (unknown) — such a time is a lie or a bug, and the stream cannot say what it should have been.
 */
export function agentInstantOrNull(ms: number, streamMs: number | undefined): Date | null {
  if (!Number.isFinite(ms) || ms <= 0) return null;
  const limit = streamMs === undefined ? MAX_STORABLE_MS : streamMs + DAY;
  return ms <= limit ? new Date(ms) : null;
}
