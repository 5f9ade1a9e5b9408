/**
 * Backstage lists arrive as the agent's protobuf objects serialised to JSON (camelCase keys, enum
 * names, default values omitted); these read them into plain rows whatever the casing.
 */
import { toNumber } from '../format.js';

type Obj = Record<string, unknown>;
const get = (o: Obj, camel: string, snake: string): unknown => o[camel] ?? o[snake];
const str = (o: Obj, camel: string, snake = camel) => String(get(o, camel, snake) ?? '');
const num = (o: Obj, camel: string, snake = camel, dflt = 0) => toNumber(get(o, camel, snake), dflt);

export interface ServiceRow {
  name: string;
  displayName: string;
  status: 'Running' | 'Stopped' | 'Paused' | 'Pending';
  startupType: string;
  pid: number;
}
export interface ProcessRow {
  pid: number;
  name: string;
  user: string;
  memoryKb: number;
  parentPid: number;
  sessionId: number;
  cpuPercent: number;
  commandLine: string;
}
export interface SessionRow {
  sessionId: number;
  userName: string;
  state: string;
  type: string;
  station: string;
}
export interface SystemRow {
  hostname: string;
  osVersion: string;
  platform: string;
  arch: string;
  cpuCount: number;
  uptimeSecs: number;
  memoryTotalKb: number;
  memoryFreeKb: number;
  agentVersion: string;
  sessions: SessionRow[];
}

const SERVICE_STATUS = ['Running', 'Stopped', 'Paused', 'Pending'] as const;
const enumLabel = <T extends string>(v: unknown, labels: readonly T[], prefix: string): T => {
  if (typeof v === 'number') return labels[v] ?? labels[0]!;
  if (typeof v === 'string') {
    const name = v.replace(prefix, '').toLowerCase();
    return labels.find((l) => l.toLowerCase() === name) ?? labels[0]!;
  }
  return labels[0]!;
};

/** A service row from a ServiceInfo. */
export function serviceRow(o: Obj): ServiceRow {
  return {
    name: str(o, 'name'),
    displayName: str(o, 'displayName', 'display_name'),
    status: enumLabel(get(o, 'status', 'status'), SERVICE_STATUS, 'SERVICE_'),
    startupType: str(o, 'startupType', 'startup_type'),
    pid: num(o, 'pid'),
  };
}

/** A process row from a ProcessInfo (cpuPercent -1 when not sampled). */
export function processRow(o: Obj): ProcessRow {
  return {
    pid: num(o, 'pid'),
    name: str(o, 'name'),
    user: str(o, 'user'),
    memoryKb: num(o, 'memoryKb', 'memory_kb'),
    parentPid: num(o, 'parentPid', 'parent_pid'),
    sessionId: num(o, 'sessionId', 'session_id'),
    cpuPercent: num(o, 'cpuPercent', 'cpu_percent', -1),
    commandLine: str(o, 'commandLine', 'command_line'),
  };
}

/** The system-info panel's data from a SystemInfo. */
export function systemRow(o: Obj): SystemRow {
  const sessions = (get(o, 'loggedOnSessions', 'logged_on_sessions') as Obj[] | undefined) ?? [];
  return {
    hostname: str(o, 'hostname'),
    osVersion: str(o, 'osVersion', 'os_version'),
    platform: str(o, 'platform'),
    arch: str(o, 'arch'),
    cpuCount: num(o, 'cpuCount', 'cpu_count'),
    uptimeSecs: num(o, 'uptimeSecs', 'uptime_secs'),
    memoryTotalKb: num(o, 'memoryTotalKb', 'memory_total_kb'),
    memoryFreeKb: num(o, 'memoryFreeKb', 'memory_free_kb'),
    agentVersion: str(o, 'agentVersion', 'agent_version'),
    sessions: sessions.map((s) => ({
      sessionId: num(s, 'sessionId', 'session_id'),
      userName: str(s, 'userName', 'user_name'),
      state: enumLabel(get(s, 'state', 'state'), ['Active', 'Disconnected', 'Idle'] as const, 'SESSION_'),
      type: enumLabel(get(s, 'type', 'type'), ['Console', 'RDP', 'Terminal'] as const, 'SESSION_'),
      station: str(s, 'stationName', 'station_name'),
    })),
  };
}
