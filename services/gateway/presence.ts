/**
 * Whether an agent is online, judged from what this gateway hears live (its heartbeats) first and
 * from the read model second. The read model lags behind under load; a heartbeat heard a moment
 * ago is the fresher truth, and a command must not be refused because a projection is busy.
 */
import type { AgentEvents, HeardSessions } from './bus/agent-events.js';

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

/**
 * The session list of an agent this gateway hears right now (a fresh heartbeat, not stopping) and
 * whose list it heard since it last (re)connected to NATS; otherwise undefined (ask the read model).
 * Fresher than the read model, which holds a list only once its projection committed it.
 */
export function heardSessionsNow(events: AgentEvents, agentId: string, offlineAfterBeats: number, now = Date.now()): HeardSessions | undefined {
  const heard = events.lastSessions(agentId);
  const hearing = events.hearing();
  if (!heard || !hearing.connected || heard.receivedAtMs < hearing.sinceMs || !heardOnline(events, agentId, offlineAfterBeats, now)) return undefined;
  return heard;
}
