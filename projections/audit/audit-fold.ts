/**
 * The audit fold: stream events -> immutable audit rows (pure apart from the state it is given).
 *
 * How commands and the hash chain coexist: a command and its result are ONE row, but the chain is
 * append-only. So the row is written only when the command is complete — the agent's result
 * (SessionSwitched, final BackstageOutput) or the gateway's command_failed (TIMEOUT, AGENT_OFFLINE)
 * arrives — and it takes that event's stream sequence as its `seq`, the chain position. Until
 * then the request sits in `audit_pending` (outside the chain, see pendingCommands()). A result
 * arriving after the row was written (the gateway gave up, then the agent answered) becomes its
 * own row flagged `late`, so no chained row is ever changed. Because rows depend only on the
 * stream, replaying the stream from sequence 1 yields the same rows and the same hashes; that is
 * what `audit verify` checks.
 */
import { pb } from '../../proto/codec.js';
import { pgText } from '../../infra/db/pg-safe.js';
import { detailString, parseDetails } from '../details-json.js';
import type { DecodedEvent } from '../runtime/types.js';
import type { AuditRow, AuditState, PendingCommand } from './audit-types.js';
import { backstageOutcomeDetails, backstageRequestDetails, backstageTypeOf, switchOutcomeDetails, switchRequestDetails } from './command-details.js';

const FAILED_TYPE: Record<string, string> = { session_switched: 'session_switch_failed' };

/**
 * The id of a row an event makes on its own. An agent chooses its events' ids, so its rows live in
 * their own namespace (`agent:<agent>:<id>`): otherwise an agent could publish an event whose id is
 * the id of a command sent to it, before answering, and the command's row would be dropped as a
 * duplicate. Gateway-published ids (commands, gc.audit.>) are used as they are.
 */
export function plainRowId(e: DecodedEvent): string {
  const id = idOf(e) || `seq-${e.seq}`;
  return e.parsed.family === 'agent' ? `agent:${e.parsed.agentId}:${id}` : id;
}

/** Command ids and row ids an event may touch, so the projection loads just those. */
export function auditKeys(e: DecodedEvent): { commands: string[]; rows: string[]; agents: string[] } {
  const m = e.msg;
  const cid = cidOf(e);
  const agents = m.payload === 'agentStatus' || (m.payload === 'audit' && m.audit?.eventType === 'agent_offline') ? [agentOf(e)].filter(Boolean) : [];
  if (e.parsed.family === 'cmd') return { commands: [idOf(e)], rows: [idOf(e)], agents };
  if (m.payload === 'sessionSwitched' || m.payload === 'backstageOutput' || (m.payload === 'audit' && m.audit?.eventType === 'command_failed')) {
    return { commands: cid ? [cid] : [], rows: [cid, plainRowId(e)].filter(Boolean), agents };
  }
  return { commands: [], rows: [plainRowId(e)], agents };
}

// Ids as Postgres stores them (pg-safe): they are looked up and compared, not only written, and a
// lookup with a NUL in it fails as surely as a write.
const idOf = (e: DecodedEvent) => pgText(e.msg.meta.id);
const cidOf = (e: DecodedEvent) => pgText(e.msg.meta.correlationId);

function agentOf(e: DecodedEvent): string {
  if ('agentId' in e.parsed) return e.parsed.agentId;
  return pgText(e.msg.meta.agentId || detailString(parseDetails(e.msg.audit?.detailsJson), 'agent_id'));
}

function actorOf(e: DecodedEvent): { user_id: string | null; user_name: string | null } {
  const a = e.msg.meta.actor;
  return { user_id: a?.userId || null, user_name: a?.userName || null };
}

/** A row for an event that is a fact on its own (not part of a command). */
function plainRow(e: DecodedEvent, event_type: string, details: Record<string, unknown>, session_id: string | null = null): AuditRow {
  return {
    id: plainRowId(e),
    seq: e.seq,
    session_id,
    ...actorOf(e),
    agent_id: agentOf(e) || null,
    event_type,
    details,
    created_at: new Date(e.atMs),
    correlation_id: cidOf(e) || null,
  };
}

function remember(state: AuditState, row: AuditRow | undefined): AuditRow | undefined {
  if (!row) return undefined;
  if (state.rowIds.has(row.id)) return undefined; // a duplicate published outside the dedupe window
  state.rowIds.add(row.id);
  return row;
}

/**
 * Closes a command with its outcome: one row carrying both sides. An agent's result closes only a
 * command sent to that agent (another agent's result naming it is a row of its own); the gateway's
 * command_failed closes any.
 */
function closeCommand(state: AuditState, e: DecodedEvent, outcome: Record<string, unknown>, failed: boolean, fallbackType: string): AuditRow | undefined {
  const cid = cidOf(e);
  const fromAgent = e.parsed.family === 'agent';
  const open = cid ? state.pending.get(cid) : undefined;
  const p = open && (!fromAgent || open.agent_id === agentOf(e)) ? open : undefined;
  const done = new Date(e.atMs);
  if (p) {
    state.pending.delete(cid);
    const type = failed ? (FAILED_TYPE[p.event_type] ?? p.event_type) : p.event_type;
    return remember(state, {
      id: cid,
      seq: e.seq,
      session_id: p.session_id,
      user_id: p.user_id || null,
      user_name: p.user_name || null,
      agent_id: p.agent_id,
      event_type: type,
      created_at: p.requested_at,
      correlation_id: cid,
      details: {
        ...p.details,
        ...outcome,
        requested_seq: p.seq,
        completed_at: done.toISOString(),
        duration_ms: typeof outcome.duration_ms === 'number' && outcome.duration_ms > 0 ? outcome.duration_ms : Math.max(0, done.getTime() - p.requested_at.getTime()),
      },
    });
  }
  const late = cid !== '' && state.rowIds.has(cid);
  // No request seen (or already closed): still a fact worth a row, under the event's own id if needed.
  const row = plainRow(e, failed && !late ? (FAILED_TYPE[fallbackType] ?? fallbackType) : fallbackType, { ...outcome, ...(late ? { late: true } : { request_seen: false }) });
  // A gateway event keeps the command's id (a later request is then no second row); an agent's
  // stays in its namespace, so it can never take a command's id.
  if (!late && cid && !fromAgent) row.id = cid;
  row.correlation_id = cid || null;
  return remember(state, row);
}

function openCommand(state: AuditState, e: DecodedEvent, event_type: string, details: Record<string, unknown>, session_id: string | null): undefined {
  const id = idOf(e);
  if (state.rowIds.has(id) || state.pending.has(id)) return undefined;
  const a = actorOf(e);
  const p: PendingCommand = {
    command_id: id,
    seq: e.seq,
    agent_id: agentOf(e),
    event_type,
    user_id: a.user_id ?? '',
    user_name: a.user_name ?? '',
    session_id,
    requested_at: new Date(e.atMs),
    details,
  };
  state.pending.set(id, p);
  return undefined;
}

/** Folds one event into `state`; returns the audit row it completes, if any. */
export function foldAudit(state: AuditState, e: DecodedEvent): AuditRow | undefined {
  const m = e.msg;
  switch (m.payload) {
    case 'switchSession': {
      const s = m.switchSession!;
      return openCommand(state, e, 'session_switched', switchRequestDetails(s), s.viewerId || null);
    }
    case 'backstageCommand': {
      const c = m.backstageCommand!;
      return openCommand(state, e, backstageTypeOf(c.commandType), backstageRequestDetails(c), null);
    }
    case 'sessionSwitched': {
      const s = m.sessionSwitched!;
      const out = switchOutcomeDetails(s);
      return closeCommand(state, e, out, !s.ok, 'session_switched');
    }
    case 'backstageOutput': {
      const o = m.backstageOutput!;
      if (!o.final) return undefined; // chunks are output, never audited
      return closeCommand(state, e, backstageOutcomeDetails(o), false, backstageTypeOf(o.commandType));
    }
    case 'agentStatus': {
      const agent = agentOf(e);
      const s = m.agentStatus!;
      if (s.state === pb.AgentState.AGENT_STOPPING) {
        if (state.online.get(agent) === false) return undefined;
        state.online.set(agent, false);
        return remember(state, plainRow(e, 'agent_offline', { reason: 'stopped', hostname: s.hostname ?? '' }));
      }
      if (state.online.get(agent) === true) return undefined;
      state.online.set(agent, true);
      return remember(
        state,
        plainRow(e, 'agent_online', {
          hostname: s.hostname ?? '',
          agent_version: s.version ?? '',
          platform: s.platform ?? '',
          os_version: s.osVersion ?? '',
          elevated: s.elevated ?? false,
        }),
      );
    }
    case 'audit': {
      const a = m.audit!;
      const d = parseDetails(a.detailsJson);
      if (a.windowsSessionId) d.windows_session_id = a.windowsSessionId;
      if (a.eventType === 'command_failed') {
        const p = state.pending.get(cidOf(e));
        return closeCommand(state, e, { ok: false, failed_by: 'gateway', ...d }, true, p ? p.event_type : 'command_failed');
      }
      if (a.eventType === 'agent_offline') state.online.set(agentOf(e), false);
      return remember(state, plainRow(e, a.eventType || 'unknown', d, a.connectSessionId || null));
    }
    default:
      return undefined;
  }
}
