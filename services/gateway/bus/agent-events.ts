/**
 * One core subscription per agent-event kind for the whole gateway, fanned out in-process: to
 * waiters by correlation id (command results) and to listeners by agent (viewers, dashboards).
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { type WindowsSessionFields, windowsSessionRowsOf } from '../../../infra/db/windows-session-rows.js';
import { type Decoded, Headers, decode, pb } from '../../../proto/codec.js';
import type { guruconnect } from '../../../proto/generated/guruconnect.js';
import { heartbeatIntervalMs } from '../../../proto/heartbeat.js';
import { type AgentEventKind, subjects } from '../../../proto/subjects.js';
import { type AgentTiming, parseAgentTiming, wallClockMs } from '../../../proto/timing.js';

type Listener = (msg: Decoded) => void;

/** The latest heartbeat this gateway heard from an agent (receive time on this host's clock). */
export interface LastStatus {
  receivedAtMs: number;
  intervalMs: number;
  stopping: boolean;
}

/** A timed answer (Gc-Timing): when this gateway heard it, and the agent's stamps. */
export interface HeardTiming {
  heardMs: number;
  agent: AgentTiming;
}

/** The latest session list this gateway heard from an agent: what the read model will hold once its projection commits it. */
export interface HeardSessions {
  receivedAtMs: number;
  /**
   * As windows_sessions rows (infra/db/windows-session-rows.ts, as the projection writes them), in
   * session id order; shaped on first read, since most agents' lists are never asked for.
   */
  readonly rows: WindowsSessionFields[];
  /** The session the agent captures (0: none), as the machines read model keeps it. */
  currentSessionId: number;
}

export interface AgentEvents {
  /**
   * Calls `fn` for every event of `agentId` answering `correlationId` until the returned function is
   * called. Another agent's event naming the same id is no answer: it must not close, or speak in, a
   * command or terminal of this one.
   */
  onCorrelation(agentId: string, correlationId: string, fn: Listener): () => void;
  /** Calls `fn` for every event of one agent. */
  onAgent(agentId: string, fn: Listener): () => void;
  /** The last status heard from `agentId` since this gateway started, if any. */
  lastStatus(agentId: string): LastStatus | undefined;
  /** The last session list heard from `agentId` since this gateway started (a SessionList, or the one a heartbeat carries), if any. */
  lastSessions(agentId: string): HeardSessions | undefined;
  /** Whether this gateway can hear agents now, and since when (a disconnected gateway cannot judge silence). */
  hearing(): { connected: boolean; sinceMs: number };
  /** Calls `fn` each time this gateway reconnects to NATS (what it missed meanwhile is only in the stream). */
  onReconnect(fn: () => void): () => void;
  /** The timing of an answer that carried Gc-Timing (asked for by command-client.ts), else undefined. */
  timingOf(msg: Decoded): HeardTiming | undefined;
  readonly rejected: number;
  close(): void;
}

const KINDS: AgentEventKind[] = ['sessions', 'switched', 'backstageOutput', 'status', 'terminal'];

/** A list heard at `receivedAtMs`, its rows shaped when a viewer or a switch first reads them. */
function heardList(list: guruconnect.ISessionList, receivedAtMs: number, currentSessionId: number): HeardSessions {
  let rows: WindowsSessionFields[] | undefined;
  return {
    receivedAtMs,
    currentSessionId,
    get rows() {
      rows ??= windowsSessionRowsOf(list, receivedAtMs);
      return rows;
    },
  };
}

// Agent ids hold no space (proto/ids.ts), so one string keys the pair.
const correlationKey = (agentId: string, correlationId: string) => `${agentId} ${correlationId}`;

export function subscribeAgentEvents(nc: NatsConnection, log: (m: string) => void): AgentEvents {
  const byCorrelation = new Map<string, Set<Listener>>();
  const byAgent = new Map<string, Set<Listener>>();
  const statuses = new Map<string, LastStatus>();
  const sessionLists = new Map<string, HeardSessions>();
  const hearing = { connected: true, sinceMs: 0 };
  const reconnectListeners = new Set<() => void>();
  const timings = new WeakMap<Decoded, HeardTiming>();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') Object.assign(hearing, { connected: false, sinceMs: Date.now() });
      else if (s.type === 'reconnect') {
        Object.assign(hearing, { connected: true, sinceMs: Date.now() });
        for (const fn of reconnectListeners) fn();
      }
    }
  })().catch(() => {});
  let rejected = 0;
  const add = (map: Map<string, Set<Listener>>, key: string, fn: Listener) => {
    const set = map.get(key) ?? new Set<Listener>();
    map.set(key, set);
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) map.delete(key);
    };
  };
  const subs: Subscription[] = KINDS.map((kind) =>
    nc.subscribe(subjects.agentEventsOfKind(kind), {
      callback: (e, m) => {
        const heardMs = wallClockMs();
        if (e) return log(`agent event subscription: ${e.message}`);
        const r = decode(m.data, m.subject);
        if (!r.ok) {
          rejected++;
          return log(`dropped event on ${m.subject}: ${r.error.message}`);
        }
        const msg = r.value;
        if (msg.agentStatus) {
          statuses.set(msg.meta.agentId ?? '', {
            receivedAtMs: Date.now(),
            intervalMs: heartbeatIntervalMs(msg.agentStatus.heartbeatIntervalMs),
            stopping: msg.agentStatus.state === pb.AgentState.AGENT_STOPPING,
          });
        }
        // A heartbeat carries the agent's list too, and the read model takes it as the latest list
        // just as it takes a SessionList (projections/session-fields.ts): heard in the same order
        // from the one agent connection, the latest of either is what the read model will hold.
        const list = msg.sessionList ?? msg.agentStatus?.sessions;
        // The captured session as the machines read model takes it (projections/machines-evolve.ts):
        // a heartbeat's own field (with or without a list), else the SessionList's.
        const agentId = msg.meta.agentId ?? '';
        const current = msg.sessionList ? msg.sessionList.currentSessionId : msg.agentStatus?.currentSessionId;
        if (list) {
          const receivedAtMs = Date.now();
          // Kept as heard (the server's max payload bounds it) and shaped as the projection stores it
          // when read: the rows the page is sent instead of waiting for the commit.
          sessionLists.set(agentId, heardList(list, receivedAtMs, current ?? 0));
        } else if (msg.agentStatus) {
          const heard = sessionLists.get(agentId);
          if (heard) heard.currentSessionId = current ?? 0;
        }
        const c = msg.meta.correlationId;
        const agent = c && m.headers ? parseAgentTiming(m.headers.get(Headers.timing)) : undefined;
        if (agent) timings.set(msg, { heardMs, agent });
        if (c) for (const fn of byCorrelation.get(correlationKey(msg.meta.agentId ?? '', c)) ?? []) fn(msg);
        for (const fn of byAgent.get(msg.meta.agentId ?? '') ?? []) fn(msg);
      },
    }),
  );
  return {
    onCorrelation: (agentId, id, fn) => add(byCorrelation, correlationKey(agentId, id), fn),
    onAgent: (id, fn) => add(byAgent, id, fn),
    lastStatus: (id) => statuses.get(id),
    lastSessions: (id) => sessionLists.get(id),
    timingOf: (msg) => timings.get(msg),
    hearing: () => ({ ...hearing }),
    onReconnect: (fn) => {
      reconnectListeners.add(fn);
      return () => reconnectListeners.delete(fn);
    },
    get rejected() {
      return rejected;
    },
    close: () => {
      for (const s of subs) s.unsubscribe();
    },
  };
}
