/**
 * Whether an agent is online, judged from what this gateway hears live (its heartbeats) first and
 * from the read model second. The read model lags behind under load; a heartbeat heard a moment
 * ago is the fresher truth, and a command must not be refused because a projection is busy.
 */
import type { AgentEvents } from './bus/agent-events.js';

/** Whether this gateway hears the agent's heartbeats now (a fresh one, not stopping): online without the read model. */
export function heardOnline(events: AgentEvents, agentId: string, offlineAfterBeats: number, now = Date.now()): boolean {
  const live = events.lastStatus(agentId);
  return !!live && !live.stopping && now - live.receivedAtMs <= live.intervalMs * offlineAfterBeats;
}

export function agentOnline(events: AgentEvents, agentId: string, readModelOnline: boolean, offlineAfterBeats: number, now = Date.now()): boolean {
  const live = events.lastStatus(agentId);
  if (live?.stopping) return false;
  if (live && now - live.receivedAtMs <= live.intervalMs * offlineAfterBeats) return true;
  return readModelOnline;
}
