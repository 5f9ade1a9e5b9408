/**
 * While a command waits for its answer, watches the agent's heartbeats: resolves when the agent
 * says it is stopping or misses `offlineAfterBeats` intervals, so a caller hears AGENT_OFFLINE
 * within about the heartbeat timeout instead of waiting for the command's full deadline.
 */
import { pb } from '../../../proto/codec.js';
import { HEARTBEAT_MS, heartbeatIntervalMs } from '../../../proto/heartbeat.js';
import type { AgentEvents } from './agent-events.js';

export interface PresenceWait {
  /** Resolves with how long the agent has been silent, or 'stopping'; never rejects. */
  readonly lost: Promise<{ silentMs: number; stopping: boolean }>;
  cancel(): void;
}

export function waitForAgentLoss(events: AgentEvents, agentId: string, offlineAfterBeats: number, now = Date.now): PresenceWait {
  const started = now();
  const known = events.lastStatus(agentId);
  // A gateway that has not heard the agent yet counts from the start of the wait.
  let lastBeat = known && !known.stopping ? known.receivedAtMs : started;
  let interval = known?.intervalMs ?? HEARTBEAT_MS.default;
  let timer: NodeJS.Timeout | undefined;
  let unlisten = () => {};
  let done: (v: { silentMs: number; stopping: boolean }) => void = () => {};
  const lost = new Promise<{ silentMs: number; stopping: boolean }>((resolve) => {
    done = (v) => {
      cancel();
      resolve(v);
    };
  });
  const cancel = () => {
    clearInterval(timer);
    unlisten();
  };
  unlisten = events.onAgent(agentId, (m) => {
    if (!m.agentStatus) return;
    if (m.agentStatus.state === pb.AgentState.AGENT_STOPPING) return done({ silentMs: 0, stopping: true });
    lastBeat = now();
    interval = heartbeatIntervalMs(m.agentStatus.heartbeatIntervalMs);
  });
  const check = () => {
    // While the gateway itself is cut off from NATS, silence says nothing about the agent; after it
    // reconnects, the agent gets the full allowance again.
    const h = events.hearing();
    if (!h.connected) return;
    const silent = now() - Math.max(lastBeat, h.sinceMs);
    if (silent > interval * offlineAfterBeats) done({ silentMs: silent, stopping: false });
  };
  timer = setInterval(check, Math.max(50, Math.min(1000, interval / 4)));
  timer.unref?.();
  return { lost, cancel };
}
