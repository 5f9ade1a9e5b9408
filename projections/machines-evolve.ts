/** Pure fold of agent status and session-list events into a machine row. */
import type { Selectable } from 'kysely';
import { pb } from '../proto/codec.js';
import { HEARTBEAT_MS, heartbeatIntervalMs } from '../proto/heartbeat.js';
import { cutText } from '../proto/text.js';
import type { MachinesTable } from '../infra/db/schema.js';
import type { DecodedEvent } from './runtime/types.js';
import { desktopUsers } from './session-fields.js';
import { pgText } from '../infra/db/pg-safe.js';

/** The fold's view of a row: bigint columns as numbers (a uint32 and a stream sequence are exact). */
export type MachineState = Omit<Selectable<MachinesTable>, 'last_seq' | 'current_session_id' | 'session_count' | 'heartbeat_interval_ms'> & {
  last_seq: number;
  current_session_id: number;
  session_count: number;
  heartbeat_interval_ms: number;
};

/** A stored row as the fold's state. */
export function machineStateOf(r: Selectable<MachinesTable>): MachineState {
  return { ...r, last_seq: Number(r.last_seq), current_session_id: Number(r.current_session_id), session_count: Number(r.session_count), heartbeat_interval_ms: Number(r.heartbeat_interval_ms) };
}

/**
 * Longest host name kept (DNS allows 253). The list's keyset index (migration 0008) is a B-tree,
 * which refuses a row over ~2.7 KB: an agent reporting a longer name had every status quarantined,
 * a row per heartbeat, and its machine never updated. Cut before cleaning, so no pair is split.
 */
export const HOSTNAME_MAX = 255;

const hostnameText = (h: string | null | undefined) => pgText(cutText(h ?? '', HOSTNAME_MAX));

function blank(agentId: string, at: Date, seq: number): MachineState {
  return {
    agent_id: agentId,
    hostname: '',
    os_version: '',
    platform: '',
    agent_version: '',
    elevated: false,
    current_session_id: 0,
    session_count: 0,
    users: [],
    heartbeat_interval_ms: HEARTBEAT_MS.default,
    state: 'online',
    first_seen: at,
    last_seen: at,
    last_seq: seq,
  };
}

/** Next machine state after `e`, or the same object when `e` says nothing about machines. */
export function evolveMachine(prev: MachineState | undefined, e: DecodedEvent): MachineState | undefined {
  if (e.parsed.family !== 'agent') return prev;
  if (prev && e.seq <= prev.last_seq) return prev;
  const at = new Date(e.atMs);
  const base = prev ?? blank(e.parsed.agentId, at, e.seq);
  if (e.msg.payload === 'agentStatus' && e.msg.agentStatus) {
    const s = e.msg.agentStatus;
    const list = s.sessions ?? undefined;
    return {
      ...base,
      hostname: hostnameText(s.hostname),
      os_version: pgText(s.osVersion),
      platform: pgText(s.platform),
      agent_version: pgText(s.version),
      elevated: s.elevated ?? false,
      current_session_id: s.currentSessionId ?? 0,
      session_count: list ? (list.sessions ?? []).length : base.session_count,
      users: list ? desktopUsers(list) : base.users,
      heartbeat_interval_ms: heartbeatIntervalMs(s.heartbeatIntervalMs),
      state: s.state === pb.AgentState.AGENT_STOPPING ? 'stopped' : 'online',
      last_seen: at,
      last_seq: e.seq,
    };
  }
  if (e.msg.payload === 'sessionList' && e.msg.sessionList) {
    const l = e.msg.sessionList;
    return { ...base, current_session_id: l.currentSessionId ?? 0, session_count: (l.sessions ?? []).length, users: desktopUsers(l), last_seen: at, last_seq: e.seq };
  }
  return prev;
}

/** A status carrying its session list sets every column, so nothing earlier of that agent matters. */
function setsEveryColumn(e: DecodedEvent): boolean {
  return e.msg.payload === 'agentStatus' && !!e.msg.agentStatus?.sessions;
}

/**
 * Folds a batch onto `state` (changed in place) and returns the agents whose row changed. Same
 * result as evolveMachine over every event, but skips events a later full status of the same agent
 * overwrites anyway (most of a catch-up batch); an agent's first event is always folded, since it
 * sets first_seen.
 */
export function foldMachines(state: Map<string, MachineState>, events: readonly DecodedEvent[]): Set<string> {
  const lastFull = new Map<string, number>();
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.parsed.family === 'agent' && !lastFull.has(e.parsed.agentId) && setsEveryColumn(e)) lastFull.set(e.parsed.agentId, i);
  }
  const touched = new Set<string>();
  for (const [i, e] of events.entries()) {
    if (e.parsed.family !== 'agent') continue;
    const id = e.parsed.agentId as string;
    const prev = state.get(id);
    if (prev && i < (lastFull.get(id) ?? -1)) continue;
    const next = evolveMachine(prev, e);
    if (next && next !== prev) {
      state.set(id, next);
      touched.add(id);
    }
  }
  return touched;
}

/**
 * Agents of a batch whose stored row the fold needs: those without a full status in the batch. For
 * the others the batch alone decides every column but first_seen, which the upsert keeps from the
 * stored row; so an idle worker's heartbeat costs no read.
 */
export function machinesToLoad(events: readonly DecodedEvent[]): string[] {
  const all = new Set<string>();
  const full = new Set<string>();
  for (const e of events) {
    if (e.parsed.family !== 'agent') continue;
    all.add(e.parsed.agentId);
    if (setsEveryColumn(e)) full.add(e.parsed.agentId);
  }
  return [...all].filter((a) => !full.has(a));
}
