/**
 * One technician's viewer connection to one machine: live view, session switching on the same
 * socket, input, and backstage. Every message is checked here (role, machine, session), never only
 * in the UI.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from '@fastify/websocket';
import type { Kysely } from 'kysely';
import { pb } from '../../../proto/codec.js';
import { ErrorCode } from '../../../proto/errors.js';
import { type AgentId, newId } from '../../../proto/ids.js';
import type { Database } from '../../../infra/db/schema.js';
import type { Access } from '../access.js';
import type { AgentEvents } from '../bus/agent-events.js';
import type { AuditPublisher } from '../bus/audit-publisher.js';
import type { Actor, CommandClient } from '../bus/command-client.js';
import type { BackstageClient } from '../backstage/backstage-client.js';
import { agentOnline } from '../presence.js';
import { getMachine, listWindowsSessions } from '../read/machines.js';
import { handleBackstageMessage } from './backstage-socket.js';
import { type FrameRelay, relayFrames } from './frame-relay.js';
import { paceController } from './stream-pace.js';
import { type ClientMessage, MAX_CLIENT_MESSAGE_BYTES, MAX_INPUT_PER_SEC, clientMessageSchema } from './protocol.js';
import { createTerminalSocket } from './terminal-socket.js';

export interface ViewerSocketDeps {
  db: Kysely<Database>;
  nc: NatsConnection;
  commands: CommandClient;
  backstage: BackstageClient;
  events: AgentEvents;
  audit: AuditPublisher;
  access: Access;
  offlineAfterBeats: number;
  commandTimeoutMs: number;
  log: (m: string) => void;
}

const STREAM_RENEW_MS = 15_000;
const PACE_WINDOW_MS = 1000;

export interface ViewerState {
  readonly viewerId: string;
  readonly agentId: AgentId;
  readonly actor: Actor;
  mode: 'screen' | 'backstage';
  send(obj: Record<string, unknown>): void;
  error(code: ErrorCode, message: string, req?: string): void;
}

export function handleViewerSocket(socket: WebSocket, request: FastifyRequest, agentId: AgentId, actor: Actor, deps: ViewerSocketDeps): void {
  const viewerId = newId();
  let relay: FrameRelay | undefined;
  let watching: number | undefined;
  let control = false;
  let joined = false;
  let switching = false;
  let renew: NodeJS.Timeout | undefined;
  let inputWindow = { start: Date.now(), count: 0, dropped: 0 };
  const backstageRuns = new Map<string, AbortController>();

  const state: ViewerState = {
    viewerId,
    agentId,
    actor,
    mode: 'screen',
    send(obj) {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(obj));
    },
    error(code, message, req) {
      state.send({ t: 'error', error_code: code, message, correlation_id: viewerId, ...(req ? { req } : {}) });
    },
  };
  const audit = (eventType: string, details: Record<string, unknown> = {}, windowsSessionId?: number) =>
    deps.audit({ eventType, actor, agentId, connectSessionId: viewerId, windowsSessionId, details }).catch(() => {});
  const terminal = createTerminalSocket(state, { ...deps, audit });

  const sendSessions = async () => {
    const [sessions, machine] = await Promise.all([listWindowsSessions(deps.db, agentId), getMachine(deps.db, agentId, deps.offlineAfterBeats)]);
    const online = machine !== undefined && agentOnline(deps.events, agentId, machine.online, deps.offlineAfterBeats);
    state.send({ t: 'sessions', sessions, current_session_id: watching ?? machine?.current_session_id ?? 0, online });
  };

  const pace = paceController({ fps: 30, quality: 70 });
  /** The browser said it dropped frames it could not paint since the last pace window. */
  let browserBehind = false;
  const startStream = (sessionId: number) => {
    const { fps, quality } = pace.current;
    deps.commands.send(agentId, 'stream', {
      startStream: { targetSessionId: sessionId, viewerId, sessionType: control ? pb.SessionType.SCREEN_CONTROL : pb.SessionType.VIEW_ONLY, maxFps: fps, quality },
    }, actor);
  };
  // Once a second: did this viewer fall behind (its socket backed up, or the browser dropped frames)?
  let behindSeen = 0;
  const pacer = setInterval(() => {
    if (watching === undefined || !relay) return;
    const behind = relay.stats.behind > behindSeen || browserBehind;
    behindSeen = relay.stats.behind;
    browserBehind = false;
    if (pace.observe(behind)) startStream(watching);
  }, PACE_WINDOW_MS);
  const relayOf = (sessionId: number, held: boolean) =>
    relayFrames(deps.nc, agentId, sessionId, socket, () => deps.commands.send(agentId, 'stream', { requestKeyframe: { viewerId, sessionId } }, actor), {
      held,
      reconnectedAt: () => {
        const h = deps.events.hearing();
        return h.connected ? h.sinceMs : 0;
      },
    });
  /** Watches `sessionId`, through `ready` when a switch already subscribed to its frames. */
  const watch = (sessionId: number, ready?: FrameRelay) => {
    relay?.stop();
    watching = sessionId;
    relay = ready ?? relayOf(sessionId, false);
    behindSeen = 0;
    startStream(sessionId);
    clearInterval(renew);
    renew = setInterval(() => watching !== undefined && startStream(watching), STREAM_RENEW_MS);
  };
  const stopWatching = () => {
    clearInterval(renew);
    relay?.stop();
    relay = undefined;
    if (watching !== undefined) deps.commands.send(agentId, 'stream', { stopStream: { viewerId } }, actor);
    watching = undefined;
  };

  /** The target must be in the machine's latest session list and have a desktop. */
  const checkTarget = async (sessionId: number, req?: string): Promise<boolean> => {
    const sessions = await listWindowsSessions(deps.db, agentId);
    const s = sessions.find((x) => x.id === sessionId);
    if (!s) {
      state.error(ErrorCode.SESSION_NOT_FOUND, `session ${sessionId} is not in the machine's latest session list; pick one from the list`, req);
      return false;
    }
    if (!s.capturable) {
      state.error(ErrorCode.SESSION_NOT_CAPTURABLE, `session ${sessionId} (${s.user}, ${s.type}) has no desktop; use backstage for it`, req);
      return false;
    }
    return true;
  };

  const onWatch = async (m: Extract<ClientMessage, { t: 'watch' }>) => {
    control = actor.role !== 'viewer' && actor.role !== 'auditor' && m.view_only !== true;
    const machine = await getMachine(deps.db, agentId, deps.offlineAfterBeats);
    // Live heartbeats first: the read model lags under load and must not turn a live machine away.
    if (!machine || !agentOnline(deps.events, agentId, machine.online, deps.offlineAfterBeats)) {
      return state.error(ErrorCode.AGENT_OFFLINE, 'the machine is offline; wait for its agent to reconnect');
    }
    const sessions = (await listWindowsSessions(deps.db, agentId)).filter((s) => s.capturable);
    const target = m.session_id ?? (sessions.some((s) => s.id === machine.current_session_id) ? machine.current_session_id : sessions[0]?.id);
    if (target === undefined) return state.error(ErrorCode.SESSION_NOT_FOUND, 'this machine has no session with a desktop; use backstage');
    if (!(await checkTarget(target))) return;
    watch(target);
    state.send({ t: 'watching', session_id: target, control });
    if (!joined) {
      joined = true;
      void audit('viewer_joined', { session_type: control ? 'screen_control' : 'view_only' }, target);
    }
  };

  const onSwitch = async (m: Extract<ClientMessage, { t: 'switch' }>) => {
    if (actor.role === 'viewer' || actor.role === 'auditor') {
      void audit('access_denied', { action: 'switch-session', reason: `role ${actor.role} may not switch sessions`, agent_id: agentId });
      return state.error(ErrorCode.FORBIDDEN, 'your role may watch but not switch sessions; ask an operator or admin', m.req);
    }
    if (m.session_id === watching) return state.send({ t: 'switched', ok: true, from: watching, to: watching, noop: true, req: m.req });
    if (!(await checkTarget(m.session_id, m.req))) {
      void audit('session_switch_failed', { from_session: watching ?? 0, to_session: m.session_id, error_code: ErrorCode.SESSION_NOT_FOUND });
      return;
    }
    switching = true;
    // Subscribed before the command leaves: the agent's first frame of the target is a keyframe
    // sent as soon as it switched, often before its answer reaches us.
    const next = relayOf(m.session_id, true);
    const r = await deps.commands
      .issue(agentId, 'switchSession', { switchSession: { targetSessionId: m.session_id, viewerId, fromSessionId: watching ?? 0 } }, { actor, timeoutMs: deps.commandTimeoutMs })
      .finally(() => {
        switching = false;
      });
    const s = r.ok ? r.value.answer.sessionSwitched! : undefined;
    const closed = socket.readyState !== socket.OPEN;
    if (!r.ok || !s?.ok || closed) next.stop();
    // The technician left while the agent switched: nothing may keep streaming to a closed socket.
    if (closed) return;
    // The command client records command_failed under the command id, closing its audit row.
    if (!r.ok) return state.error(r.error.code, r.error.message, m.req);
    if (!s?.ok) return state.error((s?.error?.code as ErrorCode) ?? ErrorCode.PLATFORM_ERROR, s?.error?.message ?? 'switch failed', m.req);
    // watch() stops the old session's frames before the viewer hears "switched"; the new ones follow it.
    watch(m.session_id, next);
    // Clipboard state is per session (spec, open question 5): the browser drops what it held.
    state.send({ t: 'switched', ok: true, from: s.fromSessionId ?? 0, to: m.session_id, duration_ms: s.durationMs ?? 0, command_id: r.value.commandId, clipboard_cleared: true, req: m.req });
    next.release();
  };

  const onInput = (m: Extract<ClientMessage, { t: 'input' }>) => {
    if (!control || m.session_id !== watching) return;
    const now = Date.now();
    if (now - inputWindow.start >= 1000) inputWindow = { start: now, count: 0, dropped: inputWindow.dropped };
    if (++inputWindow.count > MAX_INPUT_PER_SEC) {
      inputWindow.dropped++;
      return;
    }
    deps.commands.send(agentId, 'input', {
      input: {
        sessionId: m.session_id,
        viewerId,
        mouse: m.mouse ? { x: m.mouse.x, y: m.mouse.y, buttons: m.mouse.buttons, wheel: m.mouse.wheel ?? 0 } : undefined,
        key: m.key ? { keyCode: m.key.key_code ?? 0, down: m.key.down ?? false, text: m.key.text ?? '' } : undefined,
      },
    }, actor);
  };

  const unlistenSessions = deps.events.onAgent(agentId, (msg) => {
    if (msg.payload === 'sessionList') void sendSessions().catch(() => {});
    // A stream start the agent refused is answered only by a failed SessionSwitched for this viewer.
    const s = msg.sessionSwitched;
    if (msg.payload === 'sessionSwitched' && s && !s.ok && s.viewerId === viewerId && !switching) {
      state.error((s.error?.code as ErrorCode) || ErrorCode.PLATFORM_ERROR, `could not start the stream of session ${s.toSessionId ?? 0}: ${s.error?.message ?? 'unknown'}`);
    }
  });

  socket.on('message', (raw: Buffer, isBinary: boolean) => {
    if (isBinary || raw.byteLength > MAX_CLIENT_MESSAGE_BYTES) return state.error(ErrorCode.VALIDATION_FAILED, 'control messages are JSON text under 16 KB');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      return state.error(ErrorCode.VALIDATION_FAILED, 'message is not JSON');
    }
    const r = clientMessageSchema.safeParse(parsed);
    if (!r.success) return state.error(ErrorCode.VALIDATION_FAILED, `invalid message: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const m = r.data;
    const run = async () => {
      switch (m.t) {
        case 'watch': return onWatch(m);
        case 'switch': return onSwitch(m);
        case 'input': return onInput(m);
        case 'keyframe':
          if (watching === undefined) return;
          if (m.behind) browserBehind = true;
          return deps.commands.send(agentId, 'stream', { requestKeyframe: { viewerId, sessionId: watching } }, actor);
        case 'sessions': return sendSessions();
        case 'terminal.open':
        case 'terminal.input':
        case 'terminal.resize':
        case 'terminal.close': return terminal.handle(m);
        default: {
          if (m.t === 'backstage.enter') stopWatching();
          // Leaving backstage ends its shell: screen control never keeps a terminal behind it.
          if (m.t === 'backstage.exit') terminal.close('backstage exited');
          return handleBackstageMessage(m, state, { ...deps, request, runs: backstageRuns, audit });
        }
      }
    };
    run().catch((e) => {
      deps.log(`viewer ${viewerId}: ${(e as Error).stack ?? e}`);
      state.error(ErrorCode.INTERNAL, `internal error; quote ${viewerId}`);
    });
  });

  socket.on('close', () => {
    clearInterval(pacer);
    unlistenSessions();
    stopWatching();
    terminal.close('disconnected');
    // A technician who leaves does not leave commands running on the machine behind them.
    for (const c of backstageRuns.values()) {
      const commandId = (c as AbortController & { commandId?: string }).commandId;
      c.abort();
      if (commandId) void deps.backstage.run(agentId, { kind: 'cancel', commandId }, actor).catch(() => {});
    }
    if (state.mode === 'backstage') void audit('backstage_exited', { reason: 'disconnected' });
    if (joined) void audit('viewer_left', { forwarded: relay?.stats.forwarded ?? 0, input_dropped: inputWindow.dropped });
  });

  state.send({ t: 'hello', viewer_id: viewerId, agent_id: agentId, user: actor.userName, role: actor.role });
  void sendSessions().catch((e) => state.error(ErrorCode.READ_MODEL_UNAVAILABLE, `could not read sessions: ${(e as Error).message}`));
}
