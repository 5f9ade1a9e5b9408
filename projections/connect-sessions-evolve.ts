/** Pure fold of viewer audit events and switch results into connect_sessions rows. */
import type { Selectable } from 'kysely';
import type { ConnectSessionsTable } from '../infra/db/tables/audit.js';
import { pgText } from '../infra/db/pg-safe.js';
import { detailString, parseDetails } from './details-json.js';
import type { DecodedEvent } from './runtime/types.js';

/** The fold's view of a row: bigint columns as numbers. */
export type ConnectSessionState = Omit<Selectable<ConnectSessionsTable>, 'last_seq' | 'windows_session_id'> & { last_seq: number; windows_session_id: number | null };

/** A stored row as the fold's state. */
export function connectSessionStateOf(r: Selectable<ConnectSessionsTable>): ConnectSessionState {
  return { ...r, last_seq: Number(r.last_seq), windows_session_id: r.windows_session_id === null ? null : Number(r.windows_session_id) };
}

export const SESSION_TYPES = ['screen_control', 'view_only', 'backstage'] as const;

/** The connect session an event is about, if any. */
export function connectSessionKey(e: DecodedEvent): string | undefined {
  // As stored (a key with NUL could not even be looked up).
  if (e.msg.payload === 'audit') return pgText(e.msg.audit?.connectSessionId) || undefined;
  if (e.msg.payload === 'sessionSwitched' && e.msg.sessionSwitched?.ok) return pgText(e.msg.sessionSwitched.viewerId) || undefined;
  return undefined;
}

function sessionType(d: Record<string, unknown>, fallback: string): string {
  const t = detailString(d, 'session_type');
  return t && (SESSION_TYPES as readonly string[]).includes(t) ? t : fallback;
}

/**
 * Next row after `e`. viewer_joined opens a row; viewer_left closes it; backstage_entered opens
 * (or turns an existing row into) a backstage session; backstage_exited closes it, unless details
 * say which `session_type` the viewer returned to; an ok SessionSwitched moves windows_session_id.
 */
export function evolveConnectSession(prev: ConnectSessionState | undefined, e: DecodedEvent): ConnectSessionState | undefined {
  const id = connectSessionKey(e);
  if (!id || (prev && e.seq <= prev.last_seq)) return prev;
  const at = new Date(e.atMs);
  const actor = e.msg.meta.actor;
  const opened = (type: string, win: number | null): ConnectSessionState => ({
    id,
    agent_id: pgText(e.msg.meta.agentId) || prev?.agent_id || '',
    user_id: pgText(actor?.userId) || prev?.user_id || '',
    user_name: pgText(actor?.userName) || prev?.user_name || '',
    windows_session_id: win,
    session_type: type,
    started_at: prev?.started_at ?? at,
    ended_at: null,
    last_seq: e.seq,
  });
  if (e.msg.payload === 'sessionSwitched') {
    const s = e.msg.sessionSwitched!;
    return prev ? { ...prev, windows_session_id: s.toSessionId ?? 0, last_seq: e.seq } : prev;
  }
  const a = e.msg.audit!;
  const d = parseDetails(a.detailsJson);
  const agentId = pgText(e.msg.meta.agentId || detailString(d, 'agent_id')) || prev?.agent_id || '';
  switch (a.eventType) {
    case 'viewer_joined': {
      const type = sessionType(d, 'screen_control');
      const win = type === 'backstage' ? 0 : a.windowsSessionId || null;
      return { ...opened(type, win), agent_id: agentId };
    }
    case 'viewer_left':
      return prev ? { ...prev, ended_at: at, last_seq: e.seq } : { ...opened(sessionType(d, 'screen_control'), a.windowsSessionId || null), agent_id: agentId, ended_at: at };
    case 'backstage_entered':
      return prev ? { ...prev, session_type: 'backstage', windows_session_id: 0, ended_at: null, last_seq: e.seq } : { ...opened('backstage', 0), agent_id: agentId };
    case 'backstage_exited': {
      const back = detailString(d, 'session_type');
      if (prev && back && back !== 'backstage') return { ...prev, session_type: sessionType(d, prev.session_type), windows_session_id: a.windowsSessionId || null, last_seq: e.seq };
      return prev ? { ...prev, ended_at: at, last_seq: e.seq } : prev;
    }
    default:
      return prev;
  }
}
