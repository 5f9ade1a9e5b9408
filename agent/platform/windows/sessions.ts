/** User sessions through the WTS API: enumerate, then enrich each entry with per-session queries. */
import { type Result, err, ok } from '../../../proto/errors.js';
import type { SessionInfo } from '../port.js';
import { badHandle, copyNative, lastErrorText, readWideAt, win32 } from './win32-api.js';
import { WTS_SESSION_INFOW_SIZE, WtsInfoClass, decodeClientAddress, decodeSessionInfoArray, decodeSessionInfoEx, isCapturable, isLocked } from './wts.js';

const WTS_CURRENT_SERVER_HANDLE = 0n;

/** The raw bytes of one WTSQuerySessionInformationW answer, or undefined when the call fails. */
function querySessionBytes(sessionId: number, infoClass: number): Buffer | undefined {
  const w = win32();
  const pp = Buffer.alloc(8);
  const bytes = Buffer.alloc(4);
  if (!w.WTSQuerySessionInformationW(WTS_CURRENT_SERVER_HANDLE, sessionId, infoClass, pp, bytes)) return undefined;
  const ptr = pp.readBigUInt64LE(0);
  try {
    return copyNative(ptr, bytes.readUInt32LE(0));
  } finally {
    if (ptr !== 0n) w.WTSFreeMemory(ptr);
  }
}

/** A string-valued WTSINFO_CLASS for a session ('' when unavailable). */
function querySessionString(sessionId: number, infoClass: number): string {
  const b = querySessionBytes(sessionId, infoClass);
  if (!b) return '';
  // Walk in 2-byte steps: a byte search for 00 00 could match across two characters.
  let i = 0;
  while (i + 1 < b.length && (b[i] !== 0 || b[i + 1] !== 0)) i += 2;
  return b.toString('utf16le', 0, i);
}

/** The session this process runs in. */
export function ownSessionId(): number {
  const w = win32();
  const out = Buffer.alloc(4);
  return w.ProcessIdToSessionId(w.GetCurrentProcessId(), out) ? out.readUInt32LE(0) : 0;
}

/** Every user session (Session 0 left out), with user, domain, client, logon time, idle and lock state. */
export function listSessions(opts: { legacyLockFlags: boolean; elevated: boolean }): Result<SessionInfo[]> {
  const w = win32();
  const pp = Buffer.alloc(8);
  const count = Buffer.alloc(4);
  if (!w.WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, pp, count)) {
    return err('PLATFORM_ERROR', lastErrorText('WTSEnumerateSessionsW').text);
  }
  const ptr = pp.readBigUInt64LE(0);
  const n = count.readUInt32LE(0);
  // Wine's stub answers TRUE with count 0 and a NULL array: an empty list, not an error.
  if (n === 0 || badHandle(ptr)) return ok([]);
  let sessions: SessionInfo[];
  try {
    sessions = decodeSessionInfoArray(copyNative(ptr, n * WTS_SESSION_INFOW_SIZE), n, readWideAt);
  } finally {
    w.WTSFreeMemory(ptr);
  }
  const own = ownSessionId();
  for (const s of sessions) {
    const id = s.sessionId ?? 0;
    s.userName = querySessionString(id, WtsInfoClass.UserName);
    s.domain = querySessionString(id, WtsInfoClass.DomainName);
    s.clientName = querySessionString(id, WtsInfoClass.ClientName);
    const addr = querySessionBytes(id, WtsInfoClass.ClientAddress);
    s.clientAddress = addr ? decodeClientAddress(addr) : '';
    const exBytes = querySessionBytes(id, WtsInfoClass.SessionInfoEx);
    const ex = exBytes ? decodeSessionInfoEx(exBytes) : undefined;
    if (ex) {
      s.logonTimeMs = ex.logonTimeMs;
      s.idleSecs = ex.idleSecs;
      s.locked = isLocked(ex.sessionFlags, opts.legacyLockFlags);
    }
    s.capturable = isCapturable({ sessionId: id, userName: s.userName, state: s.state ?? undefined }, own, opts.elevated);
  }
  return ok(sessions);
}
