/** Messages between the load simulator and its fleet processes (test/load/fleet.ts, fleet-worker.ts), over Node's IPC channel. */
import type { SimAgentStats, SimSession } from './sim-agent.js';

export interface FleetStartAgent {
  agentId: string;
  /** .creds text issued to this agent alone. */
  creds: string;
  sessions: SimSession[];
}

export type ToWorker =
  | { t: 'config'; servers: string | string[]; caFile?: string; heartbeatMs: number; connectConcurrency: number }
  | { t: 'start'; agents: FleetStartAgent[] }
  | { t: 'setSessions'; rid: number; agentId: string; sessions: SimSession[] }
  | { t: 'stopHeartbeats'; rid: number }
  | { t: 'report'; rid: number }
  | { t: 'close'; rid: number };

export interface FleetAgentReport {
  agentId: string;
  lastMachineSeq: number;
  stats: SimAgentStats;
}

export type FromWorker =
  | { t: 'ready' }
  | { t: 'started'; agentIds: string[] }
  | { t: 'startFailed'; agentId: string; message: string }
  | { t: 'reply'; rid: number; seq?: number; reports?: FleetAgentReport[]; error?: string };
