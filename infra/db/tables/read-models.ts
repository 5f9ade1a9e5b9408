/** Read models of machines and their sessions (issue 2), plus projection checkpoints. */
import type { ColumnType } from 'kysely';
import type { BigIntCol, Timestamp } from './columns.js';

export interface ProjectionCheckpointsTable {
  name: string;
  last_seq: BigIntCol;
  updated_at: Timestamp;
}

export interface MachinesTable {
  agent_id: string;
  hostname: string;
  os_version: string;
  platform: string;
  agent_version: string;
  elevated: boolean;
  current_session_id: number;
  session_count: number;
  users: string[];
  heartbeat_interval_ms: number;
  /** 'online' while heartbeats arrive; 'stopped' after a graceful stop. Staleness is judged at read time. */
  state: string;
  first_seen: Timestamp;
  last_seen: Timestamp;
  last_seq: BigIntCol;
}

export interface WindowsSessionsTable {
  agent_id: string;
  session_id: number;
  user_name: string;
  domain: string;
  state: string;
  type: string;
  station_name: string;
  client_name: string;
  client_address: string;
  logon_time: Timestamp | null;
  idle_secs: number;
  locked: boolean;
  capturable: boolean;
  updated_at: Timestamp;
}

export interface ReadModelTables {
  projection_checkpoints: ProjectionCheckpointsTable;
  machines: MachinesTable;
  windows_sessions: WindowsSessionsTable;
}

export type { ColumnType };
