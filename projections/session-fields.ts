/** How SessionInfo enums and lists read in the read models (shared by machines and windows_sessions). */
import { pb } from '../proto/codec.js';
import type { guruconnect } from '../proto/generated/guruconnect.js';
import type { DecodedEvent } from './runtime/types.js';
import { pgText } from '../infra/db/pg-safe.js';

type SessionList = guruconnect.ISessionList;

/** Distinct, sorted user names of sessions that have a desktop (terminal logins are not "users" here). */
export function desktopUsers(list: SessionList): string[] {
  const names = new Set<string>();
  for (const s of list.sessions ?? []) {
    if ((s.type ?? 0) !== pb.WindowsSessionType.SESSION_TERMINAL && s.userName) names.add(pgText(s.userName));
  }
  return [...names].sort();
}

/** The session list an event carries (a SessionList, or the one inside an AgentStatus), if any. */
export function sessionListOf(e: DecodedEvent): SessionList | undefined {
  if (e.msg.payload === 'sessionList') return e.msg.sessionList ?? undefined;
  if (e.msg.payload === 'agentStatus') return e.msg.agentStatus?.sessions ?? undefined;
  return undefined;
}
