/**
 * Linux sessions: each local X display is a capturable session, merged with utmp logins.
 *
 * Session ids: display :n is session n + 1 (so 0 stays "Session 0 / backstage"); display numbers
 * are below 59536 (X TCP ports), so display ids never reach TERMINAL_ID_BASE. A text login
 * (tty, ssh) is TERMINAL_ID_BASE + the pid of its login process: stable for the login's lifetime,
 * and pids are below 2^22, so the id fits a uint32 and never collides with a display id.
 */
import { existsSync } from 'node:fs';
import { guruconnect } from '../../../proto/generated/guruconnect.js';
import type { SessionInfo } from '../port.js';
import { type Account, readAccounts, userNameOf } from './passwd.js';
import { type UtmpRecord, readUserLogins } from './utmp.js';
import { xIdleSecs } from './x-idle.js';
import { findXServers, listXSockets, readListeningXSockets } from './x-servers.js';

export const TERMINAL_ID_BASE = 65536;
/** Past this much input silence a session is reported Idle. */
const IDLE_AFTER_SECS = 300;

/** A session plus what the agent needs to act in it (run as its user, open its display). */
export interface LinuxSession {
  info: SessionInfo;
  user: string;
  uid: number;
  gid: number;
  home: string;
  /** ":<n>" for display sessions with a live X server, else null. */
  display: string | null;
}

const { SessionState, WindowsSessionType } = guruconnect;

/** The display number a utmp record belongs to (line or host ":<n>" / ":<n>.<screen>"), if any. */
export function displayOfLogin(rec: Pick<UtmpRecord, 'line' | 'host'>): number | undefined {
  for (const v of [rec.line, rec.host]) {
    const m = /^:(\d+)(\.\d+)?$/.exec(v);
    if (m) return Number(m[1]);
  }
  return undefined;
}

function accountFor(byName: Map<string, Account>, byUid: Map<number, Account>, name: string, uid?: number): Account {
  const a = (uid !== undefined ? byUid.get(uid) : undefined) ?? byName.get(name);
  return a ?? { name, uid: uid ?? -1, gid: -1, home: '/', shell: '' };
}

/** Every current session ordered by id; `utmpPath` defaults to /var/run/utmp. */
export async function collectSessions(opts: { utmpPath?: string } = {}): Promise<LinuxSession[]> {
  const [listeningByInode, sockets] = await Promise.all([readListeningXSockets(), listXSockets()]);
  const listening = new Set(listeningByInode.values());
  const wanted = [...new Set([...sockets.map((s) => s.display), ...listening])];
  const [servers, logins, { byUid, byName }] = await Promise.all([findXServers(listeningByInode, wanted), readUserLogins(opts.utmpPath), readAccounts()]);
  const out: LinuxSession[] = [];
  const displayLogins = new Map<number, UtmpRecord>();
  const terminals: UtmpRecord[] = [];
  for (const rec of logins) {
    // A record whose login process is gone is stale (crashed login manager), not a session.
    if (rec.pid > 0 && !existsSync(`/proc/${rec.pid}`)) continue;
    const d = displayOfLogin(rec);
    if (d === undefined) terminals.push(rec);
    else if (!displayLogins.has(d) || rec.line === `:${d}`) displayLogins.set(d, rec);
  }

  for (const sock of sockets) {
    const login = displayLogins.get(sock.display);
    displayLogins.delete(sock.display);
    const server = servers.get(sock.display);
    // A socket file nobody listens on, with no login behind it, is what a killed X server left:
    // no session. (A listening socket without a visible server — another PID namespace — still is.)
    if (!server && !login && !listening.has(sock.display)) continue;
    // A root-owned socket (Xorg started by a display manager) says nothing about the user; utmp does.
    const acc = sock.ownerUid === 0 && login ? accountFor(byName, byUid, login.user) : accountFor(byName, byUid, userNameOf(byUid, sock.ownerUid), sock.ownerUid);
    const station = `:${sock.display}`;
    const idle = server ? await xIdleSecs(station, `${acc.home}/.Xauthority`) : 0;
    const state = !server ? SessionState.SESSION_DISCONNECTED : idle > IDLE_AFTER_SECS ? SessionState.SESSION_IDLE : SessionState.SESSION_ACTIVE;
    out.push({
      info: {
        sessionId: sock.display + 1,
        userName: acc.name,
        state,
        type: server?.remote ? WindowsSessionType.SESSION_RDP : WindowsSessionType.SESSION_CONSOLE,
        domain: '',
        stationName: station,
        clientName: '',
        clientAddress: login && login.host !== station ? login.host : '',
        logonTimeMs: login?.timeMs || Math.floor(sock.mtimeMs),
        idleSecs: idle,
        locked: false,
        capturable: server !== undefined,
      },
      user: acc.name,
      uid: acc.uid,
      gid: acc.gid,
      home: acc.home,
      display: server ? station : null,
    });
  }

  // utmp still holds a graphical login whose X server and socket are gone: shown as disconnected.
  for (const [display, rec] of displayLogins) {
    const acc = accountFor(byName, byUid, rec.user);
    out.push(terminalLike(rec, acc, display + 1, `:${display}`, SessionState.SESSION_DISCONNECTED, WindowsSessionType.SESSION_CONSOLE));
  }
  for (const rec of terminals) {
    const acc = accountFor(byName, byUid, rec.user);
    out.push(terminalLike(rec, acc, TERMINAL_ID_BASE + rec.pid, rec.line, SessionState.SESSION_ACTIVE, WindowsSessionType.SESSION_TERMINAL));
  }
  return out.sort((a, b) => (a.info.sessionId ?? 0) - (b.info.sessionId ?? 0));
}

function terminalLike(rec: UtmpRecord, acc: Account, sessionId: number, station: string, state: guruconnect.SessionState, type: guruconnect.WindowsSessionType): LinuxSession {
  return {
    info: {
      sessionId,
      userName: rec.user,
      state,
      type,
      domain: '',
      stationName: station,
      clientName: '',
      clientAddress: rec.host.startsWith(':') ? '' : rec.host,
      logonTimeMs: rec.timeMs,
      idleSecs: 0,
      locked: false,
      capturable: false,
    },
    user: acc.name,
    uid: acc.uid,
    gid: acc.gid,
    home: acc.home,
    display: null,
  };
}
