/**
 * A simulated agent for load and bad-input tests: its own NATS connection with per-agent
 * credentials, real proto messages on the real subjects (status heartbeats, session lists), and
 * answers to commands as the real agent gives them (switched, backstage.output final), with the real
 * agent's duplicate-command filter. No platform: sessions are data.
 */
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import type { NatsConnection, TlsOptions } from '@nats-io/nats-core';
import { readFileSync } from 'node:fs';
import { type SecureContext, createSecureContext } from 'node:tls';
import { connect } from '@nats-io/transport-node';
import { createSeenCommands } from '../../agent/runtime/seen-commands.js';
import { busDefaults, busTls } from '../../proto/bus/connect.js';
import { fastCredsAuthenticator } from '../../infra/nats-auth/fast-authenticator.js';
import { agentInboxPrefix } from '../../infra/nats-auth/permissions.js';
import { type Decoded, type MessageInit, decode, encode, message, pb } from '../../proto/codec.js';
import type { guruconnect } from '../../proto/generated/guruconnect.js';
import type { AgentId } from '../../proto/ids.js';
import { type AgentEventKind, subjects } from '../../proto/subjects.js';

export type SimSession = guruconnect.SessionInfo.$Properties;

export interface SimAgentOptions {
  agentId: string;
  servers: string | string[];
  /** .creds text from issueAgentCreds. */
  creds: string;
  heartbeatMs: number;
  sessions?: SimSession[];
  /** How long a backstage exec "runs" before its final answer. */
  backstageMs?: number;
  hostname?: string;
  /** The stack's CA file (stack.natsCa): the simulated agent speaks TLS like a real one. */
  caFile?: string;
  /**
   * The same CA as one TLS context shared by many simulated agents (simAgentTlsContext): each still
   * makes its own handshake and verifies the server, but the CA is not parsed again per connection.
   */
  tlsContext?: SecureContext;
}

export interface SimAgentStats {
  heartbeats: number;
  sessionLists: number;
  commands: number;
  duplicates: number;
  rejected: number;
  inputs: number;
  publishErrors: number;
  /** Command ids handled more than once (must stay 0). */
  reruns: number;
}

export interface SimAgent {
  readonly agentId: AgentId;
  readonly nc: NatsConnection;
  readonly stats: SimAgentStats;
  /** Highest stream sequence of this agent's status/sessions events (what the machines row must reach). */
  readonly lastMachineSeq: number;
  /** The list most recently published. */
  readonly sessions: SimSession[];
  /** Replaces the session list and publishes it; resolves with its stream sequence. */
  setSessions(list: SimSession[]): Promise<number>;
  /** Publishes any event as this agent (tests of odd but valid input). */
  publish(kind: AgentEventKind, payload: Omit<MessageInit, 'meta'>, correlationId?: string): Promise<number>;
  stopHeartbeats(): void;
  close(): Promise<void>;
}

/** Two capturable console sessions with distinct users (switch targets 1 and 2). */
export function defaultSessions(tag: string): SimSession[] {
  return [1, 2].map((id) => ({
    sessionId: id,
    userName: `${tag}-u${id}`,
    state: pb.SessionState.SESSION_ACTIVE,
    type: pb.WindowsSessionType.SESSION_CONSOLE,
    stationName: `:${id - 1}`,
    capturable: true,
  }));
}

/** One TLS client context for every simulated agent of a process, trusting only `caFile`. */
export function simAgentTlsContext(caFile: string): SecureContext {
  return createSecureContext({ ca: readFileSync(caFile, 'utf8') });
}

export async function startSimAgent(o: SimAgentOptions): Promise<SimAgent> {
  const agentId = o.agentId as AgentId;
  const authenticator = fastCredsAuthenticator(o.creds);
  if (!authenticator.ok) throw new Error(authenticator.error.message);
  const nc = await connect({
    ...busDefaults,
    ...(o.tlsContext ? { tls: { secureContext: o.tlsContext } as TlsOptions } : busTls({ servers: o.servers, caFile: o.caFile })),
    servers: o.servers,
    name: `sim-${agentId}`,
    // Each agent signs in with its own key; the signing runs in OpenSSL (nats.js's own authenticator
    // spends ~15 ms of CPU per connect in pure JavaScript, minutes for a 10,000-agent fleet).
    authenticator: authenticator.value,
    inboxPrefix: agentInboxPrefix(agentId),
  });
  const js: JetStreamClient = jetstream(nc);
  const stats: SimAgentStats = { heartbeats: 0, sessionLists: 0, commands: 0, duplicates: 0, rejected: 0, inputs: 0, publishErrors: 0, reruns: 0 };
  let sessions = o.sessions ?? defaultSessions(agentId);
  let current = sessions[0]?.sessionId ?? 0;
  let lastMachineSeq = 0;
  const handled = new Set<string>();
  const startedAtMs = Date.now();

  const publish = async (kind: AgentEventKind, payload: Omit<MessageInit, 'meta'>, correlationId?: string): Promise<number> => {
    const msg = message(payload, { agentId, correlationId: correlationId ?? '' });
    try {
      const ack = await js.publish(subjects.agentEvent(agentId, kind), encode(msg), { msgID: msg.meta!.id! });
      if ((kind === 'status' || kind === 'sessions') && ack.seq > lastMachineSeq) lastMachineSeq = ack.seq;
      return ack.seq;
    } catch (e) {
      stats.publishErrors++;
      throw e;
    }
  };
  const publishSessions = (correlationId?: string) => {
    stats.sessionLists++;
    return publish('sessions', { sessionList: { sessions, currentSessionId: current } }, correlationId);
  };
  const beat = (state: number = pb.AgentState.AGENT_ONLINE) => {
    stats.heartbeats++;
    return publish('status', {
      agentStatus: {
        version: 'sim',
        hostname: o.hostname ?? agentId,
        osVersion: 'sim',
        platform: 'linux',
        elevated: true,
        currentSessionId: current,
        sessions: { sessions, currentSessionId: current },
        uptimeSecs: Math.round((Date.now() - startedAtMs) / 1000),
        heartbeatIntervalMs: o.heartbeatMs,
        state,
        startedAtMs,
      },
    });
  };

  const onCommand = async (msg: Decoded) => {
    if (msg.payload !== 'input') {
      if (handled.has(msg.meta.id)) stats.reruns++;
      handled.add(msg.meta.id);
    }
    switch (msg.payload) {
      case 'switchSession': {
        const target = msg.switchSession!.targetSessionId ?? 0;
        const ok = sessions.some((s) => s.sessionId === target);
        const from = current;
        if (ok) current = target;
        await publish(
          'switched',
          {
            sessionSwitched: {
              ok,
              fromSessionId: from,
              toSessionId: target,
              viewerId: msg.switchSession!.viewerId || 'automation',
              durationMs: 1,
              error: ok ? null : { code: 'SESSION_NOT_FOUND', message: `no session ${target}` },
            },
          },
          msg.meta.id,
        );
        if (ok && from !== target) await publishSessions();
        return;
      }
      case 'backstageCommand': {
        const c = msg.backstageCommand!;
        if (o.backstageMs) await new Promise((r) => setTimeout(r, o.backstageMs));
        const type = c.commandType ?? 0;
        const out: guruconnect.BackstageOutput.$Properties =
          type === pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND
            ? { commandType: type, final: true, commandOutput: { stdout: '', stderr: '', exitCode: 0, durationMs: o.backstageMs ?? 0, outputBytes: 4 } }
            : { commandType: type, final: true, systemInfo: { hostname: agentId, platform: 'linux', agentVersion: 'sim' } };
        if (type === pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND) {
          await publish('backstageOutput', { backstageOutput: { commandType: type, chunk: { stream: pb.OutputStream.STDOUT, data: 'sim\n', seq: 0 } } }, msg.meta.id);
        }
        await publish('backstageOutput', { backstageOutput: out }, msg.meta.id);
        return;
      }
      case 'requestSessions':
        await publishSessions(msg.meta.id);
        return;
      case 'input':
        stats.inputs++;
        return;
      default:
        return; // stream control: a simulated agent has no frames to send
    }
  };

  const seen = createSeenCommands();
  nc.subscribe(subjects.commandsFor(agentId), {
    callback: (e, m) => {
      if (e) return;
      const r = decode(m.data, m.subject);
      if (!r.ok) {
        stats.rejected++;
        return;
      }
      if (r.value.payload !== 'input' && !seen.firstTime(r.value.meta.id)) {
        stats.duplicates++;
        return;
      }
      stats.commands++;
      onCommand(r.value).catch(() => {});
    },
  });

  await beat();
  await publishSessions();
  // Real agents start at random times: spread the beats over the interval instead of in step.
  let timer: ReturnType<typeof setInterval> | undefined;
  const first = setTimeout(() => {
    void beat().catch(() => {});
    timer = setInterval(() => void beat().catch(() => {}), o.heartbeatMs);
  }, Math.random() * o.heartbeatMs);
  const stopBeats = () => {
    clearTimeout(first);
    clearInterval(timer);
  };

  return {
    agentId,
    nc,
    stats,
    get lastMachineSeq() {
      return lastMachineSeq;
    },
    get sessions() {
      return sessions;
    },
    async setSessions(list) {
      sessions = list;
      return publishSessions();
    },
    publish,
    stopHeartbeats: stopBeats,
    async close() {
      stopBeats();
      await nc.close().catch(() => {});
    },
  };
}
