/**
 * The heartbeat interval: the range an agent can be configured with, the interval assumed when a
 * status carries none, and the one every reader judges an agent by.
 */
export const HEARTBEAT_MS = { min: 200, max: 60_000, default: 5_000 } as const;

/**
 * The interval to judge an agent's silence by: what its status reports, held to the configurable
 * range. Presence is "heard within interval × beats", so a status claiming 2^32-1 ms kept a silent
 * agent online for 149 days in the read model, and a gateway waiting on it for as long.
 */
export function heartbeatIntervalMs(reported: number | null | undefined): number {
  if (!reported || !Number.isFinite(reported)) return HEARTBEAT_MS.default;
  return Math.min(HEARTBEAT_MS.max, Math.max(HEARTBEAT_MS.min, reported));
}
