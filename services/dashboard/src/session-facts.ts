/** The facts a technician reads about a session before joining it: logon, idle, lock and client. */
import { duration } from './format.js';
import type { WindowsSessionDto } from './types.js';

export interface SessionFacts {
  /** "since 09:12" today, or a date and time. */
  logon: string;
  /** "idle 4m 2s", "idle 0s" (as of the agent's last report). */
  idle: string;
  locked: boolean;
  /** "from LAPTOP-7 (10.0.0.5)" for remote sessions, "" for local ones. */
  client: string;
}

/** Short logon time: the time of day when it is today, else date and time. */
export function logonText(iso: string | null | undefined, now = new Date()): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

/** Reads the display facts of one session. */
export function sessionFacts(s: WindowsSessionDto): SessionFacts {
  const who = [s.client_name, s.client_address && s.client_address !== s.client_name ? `(${s.client_address})` : ''].filter(Boolean).join(' ');
  return {
    logon: `logon ${logonText(s.logon_time)}`,
    idle: `idle ${duration(s.idle_secs)}`,
    locked: s.locked,
    client: who ? `from ${who}` : '',
  };
}

/** One line for a select option or a tooltip: "logon 09:12 · idle 3s · locked · from X (1.2.3.4)". */
export function sessionFactsLine(s: WindowsSessionDto): string {
  const f = sessionFacts(s);
  return [f.logon, f.idle, f.locked ? 'locked' : '', f.client].filter(Boolean).join(' · ');
}
