/** Host facts: OS release, kernel, uptime, memory, CPUs. */
import { readFile } from 'node:fs/promises';
import { arch, availableParallelism, hostname, release } from 'node:os';
import type { HostIdentity, SessionInfo, SystemInfo } from '../port.js';

/** PRETTY_NAME of os-release(5) text, unquoted. */
export function prettyName(osRelease: string): string | undefined {
  const m = /^PRETTY_NAME=(.*)$/m.exec(osRelease);
  return m?.[1]?.trim().replace(/^(["'])(.*)\1$/, '$2');
}

/** "Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64" */
export async function osVersion(): Promise<string> {
  let name = 'Linux';
  for (const p of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      name = prettyName(await readFile(p, 'utf8')) ?? name;
      break;
    } catch {
      // Try the next location; os-release is optional on minimal systems.
    }
  }
  return `${name}, kernel ${release()}`;
}

/** Seconds since boot from /proc/uptime. */
export async function uptimeSecs(): Promise<number> {
  try {
    return Math.floor(Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]));
  } catch {
    return 0;
  }
}

/** MemTotal and MemAvailable (free for use, as the Windows "available" figure) in kB. */
export function parseMeminfo(text: string): { totalKb: number; freeKb: number } {
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { totalKb: field('MemTotal'), freeKb: field('MemAvailable') || field('MemFree') };
}

/** Who and what this host is. */
export async function hostIdentity(): Promise<HostIdentity> {
  return { hostname: hostname(), osVersion: await osVersion(), arch: arch(), elevated: process.getuid?.() === 0 };
}

/** The SystemInfo answer; `sessions` is the current session list. */
export async function systemInfo(sessions: SessionInfo[], agentVersion: string): Promise<SystemInfo> {
  const [os, up, mem] = await Promise.all([osVersion(), uptimeSecs(), readFile('/proc/meminfo', 'utf8').then(parseMeminfo, () => ({ totalKb: 0, freeKb: 0 }))]);
  return {
    osVersion: os,
    hostname: hostname(),
    uptimeSecs: up,
    loggedOnSessions: sessions,
    platform: 'linux',
    arch: arch(),
    cpuCount: availableParallelism(),
    memoryTotalKb: mem.totalKb,
    memoryFreeKb: mem.freeKb,
    agentVersion,
  };
}
