/** Host facts: computer name, Windows version (RtlGetVersion), elevation, uptime, memory. */
import { arch, availableParallelism } from 'node:os';
import type { HostIdentity, SessionInfo, SystemInfo } from '../port.js';
import { isElevated } from './tokens.js';
import { readWideIn } from './utf16.js';
import { win32 } from './win32-api.js';

export interface WindowsVersion {
  major: number;
  minor: number;
  build: number;
  servicePack: string;
}

/** RTL_OSVERSIONINFOW: DWORD size, major, minor, build, platformId; WCHAR szCSDVersion[128] (276 bytes). */
export function decodeOsVersionInfo(buf: Buffer): WindowsVersion {
  return {
    major: buf.readUInt32LE(4),
    minor: buf.readUInt32LE(8),
    build: buf.readUInt32LE(12),
    servicePack: readWideIn(buf, 20, 128),
  };
}

/** "Windows 10.0.19045" (+ service pack); build >= 22000 on major 10 is Windows 11. */
export function formatWindowsVersion(v: WindowsVersion): string {
  const name = v.major === 10 && v.build >= 22000 ? 'Windows 11' : 'Windows';
  const sp = v.servicePack ? ` ${v.servicePack}` : '';
  return `${name} ${v.major}.${v.minor}.${v.build}${sp}`;
}

/** The real OS version: RtlGetVersion is not subject to GetVersionEx's manifest-based lie. */
export function windowsVersion(): WindowsVersion {
  const buf = Buffer.alloc(276);
  buf.writeUInt32LE(276, 0);
  win32().RtlGetVersion(buf);
  return decodeOsVersionInfo(buf);
}

/** NetBIOS computer name. */
function computerName(): string {
  const buf = Buffer.alloc(64 * 2);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(64);
  if (!win32().GetComputerNameW(buf, size)) return '';
  return buf.toString('utf16le', 0, size.readUInt32LE(0) * 2);
}

/** Seconds since boot. */
export function uptimeSecs(): number {
  // koffi hands back a uint64 as a number while it fits in 2^53, as a BigInt beyond.
  return Math.floor(Number(win32().GetTickCount64()) / 1000);
}

/** MEMORYSTATUSEX: DWORD dwLength; DWORD load; DWORDLONG ullTotalPhys @8; ullAvailPhys @16 (64 bytes). */
export function memoryKb(): { totalKb: number; freeKb: number } {
  const buf = Buffer.alloc(64);
  buf.writeUInt32LE(64, 0);
  if (!win32().GlobalMemoryStatusEx(buf)) return { totalKb: 0, freeKb: 0 };
  return { totalKb: Number(buf.readBigUInt64LE(8) / 1024n), freeKb: Number(buf.readBigUInt64LE(16) / 1024n) };
}

/** Who and what this host is. */
export function hostIdentity(): HostIdentity {
  return { hostname: computerName(), osVersion: formatWindowsVersion(windowsVersion()), arch: arch(), elevated: isElevated() };
}

/** The SystemInfo answer; `sessions` is the current session list. */
export function systemInfo(sessions: SessionInfo[], agentVersion: string): SystemInfo {
  const mem = memoryKb();
  return {
    osVersion: formatWindowsVersion(windowsVersion()),
    hostname: computerName(),
    uptimeSecs: uptimeSecs(),
    loggedOnSessions: sessions,
    platform: 'windows',
    arch: arch(),
    cpuCount: availableParallelism(),
    memoryTotalKb: mem.totalKb,
    memoryFreeKb: mem.freeKb,
    agentVersion,
  };
}
