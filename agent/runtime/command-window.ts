/**
 * Which stored commands are still fresh enough to run. Commands are live: the gateway publishes one
 * and the agent, subscribed, gets it within milliseconds or never (an agent that is offline does not
 * run it later). So a command whose `meta.at_ms` is minutes old did not come from the gateway just
 * now: it is a stored command delivered again (a consumer pointed at gc.cmd.<agent>.>, a replay of
 * the stream) and running it would repeat an admin's action without the admin. The window is the
 * time that must be allowed anyway: delivery latency (milliseconds) plus the clock difference
 * between the gateway and this machine (NTP keeps it under a second; an unsynchronised VM can be off
 * by a minute), hence 2 minutes by default. The agent remembers the ids it ran for as long as they
 * are inside the window (seen-store.ts), so within it a repeat is refused by id, and after it by age.
 */

export interface CommandWindow {
  /** A command dated earlier than now - maxAgeMs is refused (config GC_COMMAND_MAX_AGE_MS). */
  maxAgeMs: number;
  /** A command dated later than now + maxFutureMs is refused: the gateway's clock may run ahead by this much. */
  maxFutureMs: number;
}

export const DEFAULT_COMMAND_WINDOW: CommandWindow = { maxAgeMs: 120_000, maxFutureMs: 30_000 };

export type Freshness = { fresh: true } | { fresh: false; reason: 'stale' | 'future'; message: string };

/** Judges a command's `at_ms` against this machine's clock; never throws, whatever the number. */
export function judgeAge(atMs: number, nowMs: number, w: CommandWindow): Freshness {
  // An unset at_ms is 0, and an int64 beyond 2^53 arrives as some number far from now: both refused.
  if (!Number.isFinite(atMs) || atMs < nowMs - w.maxAgeMs) {
    return {
      fresh: false,
      reason: 'stale',
      message: `dated ${describeAt(atMs)}, ${Math.round(nowMs - atMs)} ms ago (at most ${w.maxAgeMs} ms allowed; if every command is refused, compare this machine's clock with the gateway's)`,
    };
  }
  if (atMs > nowMs + w.maxFutureMs) {
    return { fresh: false, reason: 'future', message: `dated ${describeAt(atMs)}, ${Math.round(atMs - nowMs)} ms ahead of this machine's clock (at most ${w.maxFutureMs} ms allowed)` };
  }
  return { fresh: true };
}

function describeAt(atMs: number): string {
  const d = new Date(atMs);
  return Number.isNaN(d.getTime()) ? String(atMs) : d.toISOString();
}
