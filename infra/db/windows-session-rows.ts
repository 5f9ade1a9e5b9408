/**
 * An agent's session list as windows_sessions rows (pure): the projection stores them, and the
 * gateway shapes a list it heard live with them, so a session reads the same from either.
 */
import { pb } from '../../proto/codec.js';
import { agentInstantOrNull } from '../../proto/event-time.js';
import type { guruconnect } from '../../proto/generated/guruconnect.js';
import { pgText } from './pg-safe.js';

/** A row's fields of one session, as stored (the agent id and update time are the writer's). */
export interface WindowsSessionFields {
  session_id: number;
  user_name: string;
  domain: string;
  state: string;
  type: string;
  station_name: string;
  client_name: string;
  client_address: string;
  logon_time: Date | null;
  idle_secs: number;
  locked: boolean;
  capturable: boolean;
}

/** 'active' | 'disconnected' | 'idle' */
export function sessionStateText(s: number | null | undefined): string {
  return (pb.SessionState[s ?? 0] ?? 'SESSION_ACTIVE').replace(/^SESSION_/, '').toLowerCase();
}

/** 'console' | 'rdp' | 'terminal' */
export function sessionTypeText(t: number | null | undefined): string {
  return (pb.WindowsSessionType[t ?? 0] ?? 'SESSION_CONSOLE').replace(/^SESSION_/, '').toLowerCase();
}

/**
 * The rows of a list in session id order, one per id (a malformed list must not break the primary
 * key). `trustedMs`: the clock an agent's logon time is bounded by (the stream's, or the hearing
 * gateway's); undefined in pure tests.
 */
export function windowsSessionRowsOf(list: guruconnect.ISessionList | null | undefined, trustedMs: number | undefined): WindowsSessionFields[] {
  const seen = new Set<number>();
  const rows: WindowsSessionFields[] = [];
  for (const s of list?.sessions ?? []) {
    const id = s.sessionId ?? 0;
    if (seen.has(id)) continue;
    seen.add(id);
    rows.push({
      session_id: id,
      user_name: pgText(s.userName),
      domain: pgText(s.domain),
      state: sessionStateText(s.state),
      type: sessionTypeText(s.type),
      station_name: pgText(s.stationName),
      client_name: pgText(s.clientName),
      client_address: pgText(s.clientAddress),
      logon_time: agentInstantOrNull(Number(s.logonTimeMs ?? 0), trustedMs),
      idle_secs: s.idleSecs ?? 0,
      locked: s.locked ?? false,
      capturable: s.capturable ?? false,
    });
  }
  return rows.sort((a, b) => a.session_id - b.session_id);
}
