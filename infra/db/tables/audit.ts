/** Audit log and viewer connections (issue 5). Owned by the projections work (migrations 0002, 0004, 0005). */
import type { Generated, Selectable } from 'kysely';
import type { BigIntCol, ProtoIntCol, Timestamp } from './columns.js';

/** One viewer connection (the spec's connect_sessions, extended with windows_session_id and session_type). */
export interface ConnectSessionsTable {
  id: string;
  agent_id: string;
  user_id: string;
  user_name: string;
  /** The Windows session the viewer watches now (follows its switches); null when unknown. */
  windows_session_id: ProtoIntCol | null;
  /** 'screen_control' | 'view_only' | 'backstage' */
  session_type: string;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  last_seq: BigIntCol;
}

/**
 * The spec's `events` table: one immutable row per audited fact, in a sha256 hash chain ordered by
 * `seq` (the stream sequence of the event that completed the row).
 */
export interface EventsTable {
  id: string;
  seq: BigIntCol;
  /** The connect session (viewer connection), when there is one. */
  session_id: string | null;
  user_id: string | null;
  user_name: string | null;
  agent_id: string | null;
  event_type: string;
  details: Record<string, unknown>;
  created_at: Timestamp;
  correlation_id: string | null;
  /** sha256(previous row's hash + this row's canonical content), hex. */
  hash: string;
}

/** Commands asked for whose result has not arrived yet (outside the hash chain: it changes). */
export interface AuditPendingTable {
  command_id: string;
  seq: BigIntCol;
  agent_id: string;
  event_type: string;
  user_id: string;
  user_name: string;
  session_id: string | null;
  requested_at: Timestamp;
  details: Record<string, unknown>;
}

/** Whether the audit projection considers an agent online (so agent_online is written once per run). */
export interface AuditAgentsTable {
  agent_id: string;
  online: boolean;
}

/**
 * One pruning run of the audit retention (migration 0004): it deleted the chain's prefix
 * `from_seq`..`through_seq`, whose last row's hash is the previous hash of the first kept row.
 */
export interface AuditRetentionAnchorTable {
  id: Generated<string>;
  /** First seq this run deleted. */
  from_seq: BigIntCol;
  /** Seq of the last row deleted: every row at or below it is gone. */
  through_seq: BigIntCol;
  /** Chain hash of the row at through_seq. */
  last_deleted_hash: string;
  /** Rows created before this were eligible (the prefix stops at the first row created after it). */
  cutoff: Timestamp;
  deleted_count: BigIntCol;
  ran_at: Timestamp;
}

export interface AuditTables {
  connect_sessions: ConnectSessionsTable;
  events: EventsTable;
  audit_pending: AuditPendingTable;
  audit_agents: AuditAgentsTable;
  audit_retention_anchor: AuditRetentionAnchorTable;
}

export type AuditPendingRow = Selectable<AuditPendingTable>;
