/**
 * Pure decoding of Windows Terminal Services data: the WTS_SESSION_INFOW array, connect states,
 * console vs RDP, and the WTSINFOEXW level-1 record. No DLL is touched here, so unit tests on Linux
 * feed these functions hand-built buffers laid out exactly as Windows x64 lays them out.
 */
import { guruconnect } from '../../../proto/generated/guruconnect.js';
import type { SessionInfo } from '../port.js';
import { readWideIn } from './utf16.js';

/** WTS_SESSION_INFOW on x64: DWORD SessionId; 4 bytes padding; LPWSTR pWinStationName; WTS_CONNECTSTATE_CLASS State; padding. */
export const WTS_SESSION_INFOW_SIZE = 24;

/** WTS_CONNECTSTATE_CLASS. */
export const WtsConnectState = {
  Active: 0,
  Connected: 1,
  ConnectQuery: 2,
  Shadow: 3,
  Disconnected: 4,
  Idle: 5,
  Listen: 6,
  Reset: 7,
  Down: 8,
  Init: 9,
} as const;

/**
 * The spec's three states; undefined for listener, reset, down and init entries, which are WinStations
 * without a user session (the "RDP-Tcp" listener, a session being torn down) and are left out.
 */
export function mapConnectState(state: number): guruconnect.SessionState | undefined {
  switch (state) {
    case WtsConnectState.Active:
    case WtsConnectState.Shadow:
      return guruconnect.SessionState.SESSION_ACTIVE;
    case WtsConnectState.Disconnected:
      return guruconnect.SessionState.SESSION_DISCONNECTED;
    // Connected / ConnectQuery: a client is attached but nobody is logged on yet (the logon screen).
    case WtsConnectState.Connected:
    case WtsConnectState.ConnectQuery:
    case WtsConnectState.Idle:
      return guruconnect.SessionState.SESSION_IDLE;
    default:
      return undefined;
  }
}

/**
 * Whether the live view can show a session: it needs a logged-on user and a rendered desktop (a
 * disconnected session has none). The agent's own session it captures itself; any other needs a
 * helper started into it, which only an elevated agent (SYSTEM, Session 0) can do.
 */
export function isCapturable(s: { sessionId: number; userName: string; state: guruconnect.SessionState | undefined }, ownSessionId: number, elevated: boolean): boolean {
  if (s.userName === '' || s.state === guruconnect.SessionState.SESSION_DISCONNECTED) return false;
  return s.sessionId === ownSessionId || elevated;
}

/** "RDP-Tcp#3" (and other RDP-* protocol stations) -> RDP; "Console" and anything else -> console. */
export function sessionTypeOf(winStationName: string): guruconnect.WindowsSessionType {
  return /^rdp-/i.test(winStationName) ? guruconnect.WindowsSessionType.SESSION_RDP : guruconnect.WindowsSessionType.SESSION_CONSOLE;
}

/**
 * The user sessions in a WTS_SESSION_INFOW array: Session 0 and user-less WinStations dropped,
 * state and type mapped. `readWideString` reads the LPWSTR at a native address.
 */
export function decodeSessionInfoArray(buf: Buffer, count: number, readWideString: (ptr: bigint) => string): SessionInfo[] {
  const out: SessionInfo[] = [];
  for (let i = 0; i < count; i++) {
    const base = i * WTS_SESSION_INFOW_SIZE;
    if (base + WTS_SESSION_INFOW_SIZE > buf.length) break;
    const sessionId = buf.readUInt32LE(base);
    const stationPtr = buf.readBigUInt64LE(base + 8);
    const state = mapConnectState(buf.readUInt32LE(base + 16));
    if (sessionId === 0 || state === undefined) continue;
    const stationName = readWideString(stationPtr);
    out.push({
      sessionId,
      stationName,
      state,
      type: sessionTypeOf(stationName),
      userName: '',
      domain: '',
      clientName: '',
      clientAddress: '',
      logonTimeMs: 0,
      idleSecs: 0,
      locked: false,
      capturable: false,
    });
  }
  return out;
}

/** WTSINFO_CLASS values used here. */
export const WtsInfoClass = {
  UserName: 5,
  WinStationName: 6,
  DomainName: 7,
  ConnectState: 8,
  ClientName: 10,
  ClientAddress: 14,
  SessionInfoEx: 25,
} as const;

/** Milliseconds since 1970 of a FILETIME (100 ns ticks since 1601); 0 for 0. */
export function fileTimeToMs(ft: bigint): number {
  if (ft <= 0n) return 0;
  return Number(ft / 10_000n - 11_644_473_600_000n);
}

export interface SessionInfoEx {
  sessionFlags: number;
  userName: string;
  domain: string;
  logonTimeMs: number;
  idleSecs: number;
}

/**
 * WTSINFOEXW (Level 1) on x64: DWORD Level; pad; DWORD SessionId @8; State @12; LONG SessionFlags @16;
 * WCHAR WinStationName[33] @20; UserName[21] @86; DomainName[18] @128; LARGE_INTEGER LogonTime @168,
 * ConnectTime @176, DisconnectTime @184, LastInputTime @192, CurrentTime @200; ... 232 bytes.
 */
export function decodeSessionInfoEx(buf: Buffer): SessionInfoEx | undefined {
  if (buf.length < 208 || buf.readUInt32LE(0) !== 1) return undefined;
  const lastInput = buf.readBigInt64LE(192);
  const now = buf.readBigInt64LE(200);
  return {
    sessionFlags: buf.readInt32LE(16),
    userName: readWideIn(buf, 86, 21),
    domain: readWideIn(buf, 128, 18),
    logonTimeMs: fileTimeToMs(buf.readBigInt64LE(168)),
    idleSecs: lastInput > 0n && now > lastInput ? Number((now - lastInput) / 10_000_000n) : 0,
  };
}

/**
 * WTS_SESSIONSTATE_LOCK is 0 and UNLOCK is 1 (the values are swapped on Windows 7 / 2008 R2, a
 * documented bug; those systems are reported as unlocked-unknown by passing `legacy`).
 */
export function isLocked(sessionFlags: number, legacy: boolean): boolean {
  if (sessionFlags !== 0 && sessionFlags !== 1) return false;
  return legacy ? sessionFlags === 1 : sessionFlags === 0;
}

/** WTS_CLIENT_ADDRESS: DWORD AddressFamily; BYTE Address[20] — IPv4 in bytes 2..5 of Address. */
export function decodeClientAddress(buf: Buffer): string {
  if (buf.length < 24) return '';
  const family = buf.readUInt32LE(0);
  if (family === 2) return [...buf.subarray(6, 10)].join('.');
  if (family === 23) {
    const parts: string[] = [];
    for (let i = 0; i < 8; i++) parts.push(buf.readUInt16BE(6 + i * 2).toString(16));
    return parts.join(':');
  }
  return '';
}
