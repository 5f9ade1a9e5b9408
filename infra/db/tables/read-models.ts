/** Read models of machines and their sessions (issue 2), plus projection checkpoints. */
import type { ColumnType } from 'kysely';
import type { BigIntCol, ProtoIntCol, Timestamp } from './columns.js';

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
  current_session_id: ProtoIntCol;
  session_count: ProtoIntCol;
  users: string[];
  heartbeat_interval_ms: ProtoIntCol;
  /** 'online' while heartbeats arrive; 'stopped' after a graceful stop. Staleness is judged at read time. */
  state: string;
  first_seen: Timestamp;
  last_seen: Timestamp;
  last_seq: BigIntCol;
}

/** The machines filter's user text (migration 0009), kept from machines by triggers: never written by hand. */
export interface MachinesSearchUsersTable {
  agent_id: string;
  /** The users joined by chr(1). */
  users: string;
}

export interface WindowsSessionsTable {
  agent_id: string;
  session_id: ProtoIntCol;
  user_name: string;
  domain: string;
  state: string;
  type: string;
  station_name: string;
  client_name: string;
  client_address: string;
  logon_time: Timestamp | null;
  idle_secs: ProtoIntCol;
  locked: boolean;
  capturable: boolean;
  updated_at: Timestamp;
}

/**
 * An event a projection skipped because applying it failed deterministically (migration 0005); the
 * row is written with the checkpoint that passes it, so every stream sequence is accounted for.
 */
export interface QuarantinedEventsTable {
  projection: string;
  stream_seq: BigIntCol;
  subject: string;
  /** A Postgres SQLSTATE (e.g. 22P02) or a JS error name (TypeError). */
  error_code: string;
  error_message: string;
  quarantined_at: ColumnType<Date, Date | string | undefined, never>;
  /** sha256 of the message bytes, hex: which message it was, without storing what it said. */
  sha256: string;
}

export interface ReadModelTables {
  projection_checkpoints: ProjectionCheckpointsTable;
  quarantined_events: QuarantinedEventsTable;
  machines: MachinesTable;
  machines_search_users: MachinesSearchUsersTable;
  windows_sessions: WindowsSessionsTable;
}

export type { ColumnType };
