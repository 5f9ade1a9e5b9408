/** Publishes AgentStatus every interval; the last one on a graceful stop says AGENT_STOPPING. */
import { pb } from '../../proto/codec.js';
import type { guruconnect } from '../../proto/generated/guruconnect.js';
import type { Logger } from '../../proto/log/logger.js';
import type { HostIdentity, PlatformPort, SessionInfo } from '../platform/port.js';
import type { Publisher } from './publisher.js';

export interface Heartbeat {
  /** Sends the final status (AGENT_STOPPING) and stops the timer. */
  stop(): Promise<void>;
}

export interface HeartbeatDeps {
  platform: PlatformPort;
  identity: HostIdentity;
  publisher: Publisher;
  intervalMs: number;
  version: string;
  sessions: () => SessionInfo[];
  currentSessionId: () => number;
  log: Logger;
}

export function startHeartbeat(deps: HeartbeatDeps): Heartbeat {
  const startedAtMs = Date.now();
  const send = async (state: guruconnect.AgentState) => {
    const uptimeSecs = await deps.platform.uptimeSecs();
    await deps.publisher.event('status', {
      agentStatus: {
        version: deps.version,
        hostname: deps.identity.hostname,
        osVersion: deps.identity.osVersion,
        platform: deps.platform.name,
        elevated: deps.identity.elevated,
        currentSessionId: deps.currentSessionId(),
        sessions: { sessions: deps.sessions(), currentSessionId: deps.currentSessionId() },
        uptimeSecs,
        heartbeatIntervalMs: deps.intervalMs,
        state,
        startedAtMs,
      },
    });
  };
  const beat = () => send(pb.AgentState.AGENT_ONLINE).catch((e) => deps.log.warn({ err: e }, 'heartbeat not sent'));
  void beat();
  const timer = setInterval(beat, deps.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await send(pb.AgentState.AGENT_STOPPING).catch(() => {});
    },
  };
}
