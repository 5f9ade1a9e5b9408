/**
 * Where a command's time goes, hop by hop (issue 18): the gateway asks for stamps with the
 * Gc-Timing header on a stored command, and the agent stamps its answers with when it received the
 * command, when the handler started (after the freshness and seen-id checks) and when it published
 * the answer. The readings are wall-clock milliseconds with sub-millisecond digits, comparable
 * between processes of one machine; they are diagnostics, never trusted for a decision.
 */

/** Wall-clock ms with sub-ms precision: the process's start time plus the monotonic clock since. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

/** The value of Gc-Timing on a command: stamps wanted. */
export const TIMING_WANTED = '1';

export interface AgentTiming {
  receivedMs: number;
  startedMs: number;
  answeredMs: number;
}

/** "r=<ms>;s=<ms>;a=<ms>" with microsecond digits. */
export function formatAgentTiming(t: AgentTiming): string {
  return `r=${t.receivedMs.toFixed(3)};s=${t.startedMs.toFixed(3)};a=${t.answeredMs.toFixed(3)}`;
}

const AGENT_TIMING = /^r=(\d{1,16}(?:\.\d{1,6})?);s=(\d{1,16}(?:\.\d{1,6})?);a=(\d{1,16}(?:\.\d{1,6})?)$/;

/** The stamps of an answer's Gc-Timing, or undefined unless well formed and in order. */
export function parseAgentTiming(v: string | undefined): AgentTiming | undefined {
  if (!v || v.length > 100) return undefined;
  const m = AGENT_TIMING.exec(v);
  if (!m) return undefined;
  const [receivedMs, startedMs, answeredMs] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!(receivedMs <= startedMs && startedMs <= answeredMs) || !Number.isFinite(answeredMs)) return undefined;
  return { receivedMs, startedMs, answeredMs };
}
