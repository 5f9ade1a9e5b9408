/**
 * One technician's viewer connection to one machine: live view, session switching on the same
 * socket, input, and backstage. This file is the shell: it parses a message, gathers the facts the
 * decider needs, asks `decide` (viewer-decider.ts, pure) and runs the effects it names. Every check
 * (role, machine, session) is in the decider or the switch use case, never only in the UI.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { WebSocket } from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { pb } from '../../../proto/codec.js';
import { wallClockMs } from '../../../proto/timing.js';
import { ErrorCode, err } from '../../../proto/errors.js';
import { type AgentId, newId } from '../../../proto/ids.js';
import type { Database } from '../../../infra/db/schema.js';
import type { Logger } from '../../../proto/log/logger.js';
import type { Access } from '../access.js';
import type { BackstageClient } from '../backstage/backstage-client.js';
import type { AgentEvents } from '../bus/agent-events.js';
import type { AuditPublisher } from '../bus/audit-publisher.js';
import type { Actor, CommandClient } from '../bus/command-client.js';
import { type RequestTiming, serverTimingHeader } from '../bus/command-timing.js';
import type { WindowsSessionDto } from '../api-schemas.js';
import { agentOnline, heardSessionsNow } from '../presence.js';
import { getMachine, listWindowsSessions, windowsSessionDto } from '../read/machines.js';
import { switchSession } from '../use-cases/switch-session.js';
import { type BackstageRun, handleBackstageMessage } from './backstage-socket.js';
import { findUnsafeInput } from '../input-guard.js';
import { controlBudget } from './control-budget.js';
import { frameFlow } from './frame-flow.js';
import { type FrameRelay, relayFrames } from './frame-relay.js';
import { MAX_CLIENT_MESSAGE_BYTES, clientMessageSchema } from './protocol.js';
import { watchSignIn } from './sign-in-watch.js';
import { paceController } from './stream-pace.js';
import { createTerminalSocket } from './terminal-socket.js';
import type { ViewerChannel } from './viewer-channel.js';
import { type ViewerEffect, type ViewerFacts, type ViewerMessage, type ViewerState, decide, evolveAll, initialViewerState } from './viewer-decider.js';

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
  /** Control messages acted on per second (ws/control-budget.ts). */
  controlPerSec: number;
  /** The viewer's logger, every line bound to its viewer id (its errors' correlation id). */
  log: (viewerId: string) => Logger;
  /** GC_SERVER_TIMING: a `switched` reply carries the switch's hops (`server_timing`, the REST Server-Timing value). */
  serverTiming?: boolean;
}

const STREAM_RENEW_MS = 15_000;
/**
 * Most a page may leave unread before its socket is ended (frames stay under 4 MB, frame-relay.ts).
 * A terminal's or a backstage command's output comes as fast as the agent sends it: a hostile or
 * runaway agent and a tab that reads slowly had the gateway hold it all (360 MB of terminal output
 * grew it by about 470 MB), until the process ran out of memory.
 */
export const MAX_UNSENT_BYTES = 32 * 1024 * 1024;
const PACE_WINDOW_MS = 1000;

export function handleViewerSocket(socket: WebSocket, request: FastifyRequest, agentId: AgentId, actor: Actor, deps: ViewerSocketDeps): void {
  const viewerId = newId();
  const log = deps.log(viewerId);
  let state: ViewerState = initialViewerState(viewerId, actor.role, Date.now());
  const channel: ViewerChannel = {
    viewerId,
    agentId,
    actor,
    send(obj) {
      if (socket.readyState !== socket.OPEN) return;
      // NATS cannot slow an agent down: whatever the page has not read waits here, in the gateway.
      if (socket.bufferedAmount > MAX_UNSENT_BYTES) {
        log.warn({ unsent_bytes: socket.bufferedAmount }, 'the page reads slower than the machine sends (terminal or backstage output): socket ended');
        return socket.terminate();
      }
      socket.send(JSON.stringify(obj));
    },
    error(code, message, req) {
      channel.send({ t: 'error', error_code: code, message, correlation_id: viewerId, ...(req ? { req } : {}) });
    },
  };
  const audit = (eventType: string, details: Record<string, unknown> = {}, windowsSessionId?: number) =>
    deps.audit({ eventType, actor, agentId, connectSessionId: viewerId, windowsSessionId, details: eventType === 'access_denied' ? { ...details, agent_id: agentId } : details }).catch(() => {});
  const signIn = watchSignIn(
    // The machine too: a grant withdrawn mid-session ends the view and the input, not only the next switch.
    async () => (await deps.access.stillValid(request)) && (await deps.access.canAccessMachine(request, agentId)),
    () => {
      channel.error(ErrorCode.UNAUTHENTICATED, 'your sign-in ended (logged out, token revoked or expired, user disabled or role changed) or your access to this machine was withdrawn: sign in again');
      socket.close(4401, 'sign-in ended');
    },
    { onError: (e) => log.warn({ err: e }, 'could not re-check the sign-in; the socket stays') },
  );
  const terminal = createTerminalSocket(channel, { ...deps, audit });
  const backstageRuns = new Map<string, BackstageRun>();

  // Resources the effects hold: the frames relayed now, the frames subscribed for a pending switch, timers.
  let relay: FrameRelay | undefined;
  let switchFrames: FrameRelay | undefined;
  let renew: NodeJS.Timeout | undefined;
  let windowStart = Date.now();
  let forwarded = 0;
  const pace = paceController({ fps: 30, quality: 70 });
  // One per socket, not per relay: frames of the session before a switch are still in flight after it.
  const flow = frameFlow();

  const startStream = (sessionId: number) => {
    const { fps, quality } = pace.current;
    const sessionType = state.control ? pb.SessionType.SCREEN_CONTROL : pb.SessionType.VIEW_ONLY;
    deps.commands.send(agentId, 'stream', { startStream: { targetSessionId: sessionId, viewerId, sessionType, maxFps: fps, quality } }, actor);
  };
  const relayOf = (sessionId: number, held: boolean) =>
    relayFrames(deps.nc, agentId, sessionId, socket, () => deps.commands.send(agentId, 'stream', { requestKeyframe: { viewerId, sessionId } }, actor), {
      held,
      flow,
      reconnectedAt: () => {
        const h = deps.events.hearing();
        return h.connected ? h.sinceMs : 0;
      },
    });
  const stopRelay = () => {
    forwarded += relay?.stats.forwarded ?? 0;
    relay?.stop();
    relay = undefined;
  };
  /**
   * The machine's sessions as this gateway hears them live (presence.ts, the switch's rule), else as
   * the read model holds them: a list heard is sent before its projection commits it (up to
   * GC_PROJECTION_BATCH_WAIT_MS later), so a re-read would show the list before it.
   */
  const sessionsNow = async (): Promise<{ sessions: WindowsSessionDto[]; machine?: { online: boolean; currentSessionId: number } }> => {
    const heard = heardSessionsNow(deps.events, agentId, deps.offlineAfterBeats);
    if (heard) return { sessions: heard.rows.map(windowsSessionDto), machine: { online: true, currentSessionId: heard.currentSessionId } };
    const [machine, sessions] = await Promise.all([getMachine(deps.db, agentId, deps.offlineAfterBeats), listWindowsSessions(deps.db, agentId)]);
    // Live heartbeats first: the read model lags under load and must not turn a live machine away.
    const online = machine !== undefined && agentOnline(deps.events, agentId, machine.online, deps.offlineAfterBeats);
    return { sessions, machine: machine && { online, currentSessionId: machine.current_session_id } };
  };
  const readAndSendSessions = async () => {
    const { sessions, machine } = await sessionsNow();
    channel.send({ t: 'sessions', sessions, current_session_id: state.watching ?? machine?.currentSessionId ?? 0, online: machine?.online ?? false });
  };
  // One read at a time, and at most one more after it: the list is a latest value, so requests that
  // come while one is read are all answered by the next. Each request used to be two queries: one
  // page's flood of `sessions` (or an agent's of session lists, times every viewer) queued the
  // gateway's reads behind it, 20,000 messages stalling every other request for about 12 s.
  let sessionsRead: Promise<void> | undefined;
  let sessionsAgain = false;
  const sendSessions = (): Promise<void> => {
    if (sessionsRead) {
      sessionsAgain = true;
      return sessionsRead;
    }
    sessionsRead = (async () => {
      try {
        do {
          sessionsAgain = false;
          await readAndSendSessions();
        } while (sessionsAgain && socket.readyState === socket.OPEN);
      } finally {
        sessionsRead = undefined;
      }
    })();
    return sessionsRead;
  };
  /** The facts `decide` needs for `m`: the clock, and for `watch` the machine and its sessions now. */
  const factsFor = async (m: ViewerMessage): Promise<ViewerFacts> => {
    if (m.t !== 'watch') return { now: Date.now() };
    return { now: Date.now(), ...(await sessionsNow()) };
  };

  /** `timing`: the hops of the message that led to `e` (a switch's, when Server-Timing is on). */
  const run = (e: ViewerEffect, timing?: RequestTiming): void => {
    switch (e.type) {
      case 'watch': {
        stopRelay();
        relay = e.fromSwitch && switchFrames ? switchFrames : relayOf(e.sessionId, false);
        if (e.fromSwitch) switchFrames = undefined;
        startStream(e.sessionId);
        clearInterval(renew);
        renew = setInterval(() => state.watching !== undefined && startStream(state.watching), STREAM_RENEW_MS);
        return;
      }
      case 'stopWatching':
        clearInterval(renew);
        stopRelay();
        switchFrames?.stop();
        switchFrames = undefined;
        deps.commands.send(agentId, 'stream', { stopStream: { viewerId } }, actor);
        return;
      case 'switch': {
        // As REST: "auth" ends where the use case's work starts, so the grant lookup falls in "checks".
        if (timing) timing.handlerMs = wallClockMs();
        const done = (result: Awaited<ReturnType<typeof switchSession>>) =>
          dispatch({ t: 'switch.done', to: e.to, req: e.req, result, socketOpen: socket.readyState === socket.OPEN, ...(timing ? { serverTiming: serverTimingHeader(timing) } : {}) });
        void (async () =>
          switchSession(deps, {
            actor,
            agentId,
            sessionId: e.to,
            viewerId,
            fromSessionId: e.from,
            connectSessionId: viewerId,
            granted: await deps.access.canAccessMachine(request, agentId),
            // Subscribed before the command leaves: the agent's first frame of the target is a keyframe
            // sent as soon as it switched, often before its answer reaches us.
            beforeIssue: () => {
              switchFrames = relayOf(e.to, true);
            },
            timing: timing?.command,
          }))()
          .catch((x: unknown) => {
            log.error({ err: x }, 'switch failed inside the gateway');
            return err(ErrorCode.INTERNAL, `internal error; quote ${viewerId}`);
          })
          .then(done);
        return;
      }
      case 'dropSwitchFrames':
        switchFrames?.stop();
        switchFrames = undefined;
        return;
      case 'releaseSwitchFrames':
        relay?.release();
        return;
      case 'input': {
        const m = e.message;
        deps.commands.send(
          agentId,
          'input',
          {
            input: {
              sessionId: m.session_id,
              viewerId,
              mouse: m.mouse ? { x: m.mouse.x, y: m.mouse.y, buttons: m.mouse.buttons, wheel: m.mouse.wheel ?? 0 } : undefined,
              key: m.key ? { keyCode: m.key.key_code ?? 0, down: m.key.down ?? false, text: m.key.text ?? '' } : undefined,
            },
          },
          actor,
        );
        return;
      }
      case 'keyframe':
        deps.commands.send(agentId, 'stream', { requestKeyframe: { viewerId, sessionId: e.sessionId } }, actor);
        return;
      case 'pace':
        {
          const next = pace.observe(e.window);
          if (!next) return;
          const kib = (n: number | undefined) => (n === undefined ? undefined : Math.round(n / 1024));
          const w = e.window;
          log.info(
            {
              fps: next.fps,
              quality: next.quality,
              behind: w.behind,
              offered_kib_s: kib((w.offered.bytes * 1000) / Math.max(1, w.windowMs)),
              delivered_kib_s: kib(w.deliveredPerSec),
              capacity_kib_s: kib(pace.capacity),
              queued_kib: kib(w.queuedBytes),
            },
            `viewer pace ${next.fps} fps at quality ${next.quality}`,
          );
          if (state.watching !== undefined) startStream(state.watching);
        }
        return;
      case 'framesAcked':
        flow.acked(e.frames);
        return;
      case 'sendSessions':
        void sendSessions().catch((x: unknown) => channel.error(ErrorCode.READ_MODEL_UNAVAILABLE, `could not read sessions: ${(x as Error).message}`));
        return;
      case 'audit':
        void audit(e.eventType, e.details, e.windowsSessionId);
        return;
      case 'backstage':
        void handleBackstageMessage(e.message, channel, { backstage: deps.backstage, runs: backstageRuns }).catch(internal);
        return;
      case 'terminal':
        terminal.handle(e.message);
        return;
      case 'closeTerminal':
        terminal.close(e.reason);
        return;
      case 'cancelBackstageRuns':
        for (const c of backstageRuns.values()) {
          c.abort();
          void deps.backstage.run(agentId, { kind: 'cancel', commandId: c.commandId }, actor).catch(() => {});
        }
        return;
      case 'viewerLeft':
        void audit('viewer_left', { forwarded, input_dropped: e.inputDropped });
        return;
    }
  };
  const internal = (x: unknown) => {
    log.error({ err: x }, 'viewer message failed inside the gateway');
    channel.error(ErrorCode.INTERNAL, `internal error; quote ${viewerId}`);
  };
  /** parse → facts → decide → evolve → effects → reply. */
  const dispatch = async (m: ViewerMessage, timing?: RequestTiming) => {
    const facts = await factsFor(m);
    const d = decide(state, m, facts);
    state = evolveAll(state, d.events);
    for (const e of d.effects) run(e, timing);
    if (d.reply) channel.send(d.reply);
    for (const e of d.afterReply ?? []) run(e);
  };

  // Once a second: what the agent offered, what the page took in, and whether this viewer fell behind
  // (frames dropped for its socket or budget, or by its browser): the pace follows the link.
  const pacer = setInterval(() => {
    const now = Date.now();
    const windowMs = now - windowStart;
    windowStart = now;
    if (!relay) return;
    const acking = flow.acknowledging;
    const window = { ...relay.takeWindow(), deliveredPerSec: acking ? flow.deliveredPerSec : undefined, queuedBytes: acking ? flow.queuedBytes : undefined, windowMs };
    void dispatch({ t: 'pace.window', relay: window });
  }, PACE_WINDOW_MS);

  const unlistenAgent = deps.events.onAgent(agentId, (msg) => {
    if (msg.payload === 'sessionList') void sendSessions().catch(() => {});
    // A stream start the agent refused is answered only by a failed SessionSwitched for this viewer.
    const s = msg.sessionSwitched;
    if (msg.payload === 'sessionSwitched' && s && !s.ok && s.viewerId === viewerId) {
      void dispatch({ t: 'stream.refused', sessionId: s.toSessionId ?? 0, code: (s.error?.code as ErrorCode) || ErrorCode.PLATFORM_ERROR, message: s.error?.message ?? 'unknown' });
    }
  });

  const budget = controlBudget(deps.controlPerSec);
  socket.on('message', (raw: Buffer, isBinary: boolean) => {
    const receivedMs = deps.serverTiming ? wallClockMs() : 0;
    if (isBinary || raw.byteLength > MAX_CLIENT_MESSAGE_BYTES) return channel.error(ErrorCode.VALIDATION_FAILED, 'control messages are JSON text under 16 KB');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      return channel.error(ErrorCode.VALIDATION_FAILED, 'message is not JSON');
    }
    // The HTTP edge's rule (input-guard.ts) on this edge too: a lone surrogate is no text, and a
    // command holding one was stored as it came. A terminal's keystrokes may be NUL (Ctrl+@).
    const unsafe = findUnsafeInput(parsed, 'message', { allowNul: (parsed as { t?: unknown } | null)?.t === 'terminal.input' });
    if (unsafe) return channel.error(ErrorCode.VALIDATION_FAILED, unsafe);
    const r = clientMessageSchema.safeParse(parsed);
    if (!r.success) return channel.error(ErrorCode.VALIDATION_FAILED, `invalid message: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const m = r.data;
    const verdict = budget(m.t, Date.now());
    if (verdict !== 'take') {
      if (verdict === 'tell') channel.error(ErrorCode.RATE_LIMITED, `over ${deps.controlPerSec} control messages a second: the rest of this second's are dropped`);
      return;
    }
    // Nothing is done for a sign-in that ended since the upgrade (sign-in-watch.ts); answers keep their
    // order. Input and acks go by the last answer: a slow lookup must not queue a flood of them.
    if (m.t === 'input' || m.t === 'ack') {
      if (signIn.standing()) dispatch(m).catch(internal);
      return;
    }
    // Timed from the message's arrival, as REST is from the request's (the way in is the transport's).
    const timing = deps.serverTiming && m.t === 'switch' ? { requestMs: receivedMs, handlerMs: receivedMs, command: {} } : undefined;
    signIn
      .check()
      .then((ok) => (ok ? dispatch(m, timing) : undefined))
      .catch(internal);
  });

  socket.on('close', () => {
    signIn.stop();
    clearInterval(pacer);
    unlistenAgent();
    void dispatch({ t: 'closed' }).catch(internal);
  });

  channel.send({ t: 'hello', viewer_id: viewerId, agent_id: agentId, user: actor.userName, role: actor.role });
  void sendSessions().catch((e) => channel.error(ErrorCode.READ_MODEL_UNAVAILABLE, `could not read sessions: ${(e as Error).message}`));
}
