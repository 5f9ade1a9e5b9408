/** Composes the running agent: heartbeat, session reports, viewers and captures, command handlers. */
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Decoded } from '../../proto/codec.js';
import { pb } from '../../proto/codec.js';
import { ErrorCode } from '../../proto/errors.js';
import type { AgentId } from '../../proto/ids.js';
import type { Logger } from '../../proto/log/logger.js';
import type { AgentConfig } from '../config.js';
import type { PlatformPort } from '../platform/port.js';
import { NOT_AVAILABLE_MESSAGE } from '../terminal/terminal-manager.js';
import { createTerminalPublisher } from '../terminal/terminal-publisher.js';
import { type CommandHandler, listenForCommands } from './commands.js';
import { startHeartbeat } from './heartbeat.js';
import { type Publisher, createPublisher } from './publisher.js';
import { SEEN_FILE_NAME, openSeenStore } from './seen-store.js';
import { startSessionReporter } from './session-reporter.js';
import { type StartCapture, createViewerManager } from './viewers.js';

export interface AgentDeps {
  nc: NatsConnection;
  platform: PlatformPort;
  config: AgentConfig;
  startCapture: StartCapture;
  /** Backstage commands (exec, lists, control, cancel); answers on gc.agent.<self>.backstage.output. */
  backstage?: CommandHandler;
  /** Interactive terminals (open, input, resize, close); output on gc.agent.<self>.terminal. Absent: NOT_AVAILABLE. */
  terminal?: CommandHandler;
  /** The agent's logger (its id bound); each command's lines add the command id, each viewer's its viewer id. */
  log: Logger;
  /** The agent's one publisher, shared with the backstage handler so both stamp timed answers alike; default: a new one. */
  publisher?: Publisher;
}

export interface RunningAgent {
  readonly agentId: AgentId;
  stop(): Promise<void>;
  /** Publishes a fresh session list now (e.g. a service control told of a session change). */
  refreshSessions(): Promise<void>;
}

const VIEWER_LEASE_MS = 45_000;

export async function startAgent(deps: AgentDeps): Promise<RunningAgent> {
  const { nc, platform, config } = deps;
  const { log } = deps;
  const agentId = config.agentId;
  const js = jetstream(nc);
  const publisher = deps.publisher ?? createPublisher(nc, js, agentId);
  const identity = await platform.identity();
  const window = { maxAgeMs: config.commandMaxAgeMs, maxFutureMs: config.commandMaxFutureMs };
  // Opened before anything listens: an unwritable state directory stops the agent here, loudly.
  const seenStore = await openSeenStore({ file: join(config.stateDir, SEEN_FILE_NAME), maxAgeMs: window.maxAgeMs, log });

  let sessionsNow: () => ReturnType<typeof reporter.current> = () => [];
  const viewers = createViewerManager({
    platform,
    sessions: () => sessionsNow(),
    startCapture: deps.startCapture,
    maxCaptures: config.maxConcurrentCaptures,
    leaseMs: VIEWER_LEASE_MS,
    elevated: identity.elevated,
    maxFps: config.captureFps,
    quality: config.captureQuality,
    log,
  });
  const reporter = await startSessionReporter({
    platform,
    publisher,
    pollMs: config.sessionPollMs,
    currentSessionId: () => viewers.currentSessionId(),
    log,
  });
  sessionsNow = () => reporter.current();
  const heartbeat = startHeartbeat({
    platform,
    identity,
    publisher,
    intervalMs: config.heartbeatMs,
    version: config.version,
    sessions: () => reporter.current(),
    currentSessionId: () => viewers.currentSessionId(),
    log,
  });

  const switchSession: CommandHandler = async (msg: Decoded) => {
    const cmd = msg.switchSession!;
    const started = Date.now();
    const viewerId = cmd.viewerId || 'automation';
    // A switch issued by automation (no viewer) is checked against a fresh list, not a stale one.
    if (!reporter.current().some((s) => s.sessionId === cmd.targetSessionId)) await reporter.publishNow();
    const target = cmd.targetSessionId ?? 0;
    const r = await viewers.switch(viewerId, target);
    const from = r.ok ? r.value.from : (viewers.viewerSession(viewerId) ?? cmd.fromSessionId ?? 0);
    await publisher.event(
      'switched',
      {
        sessionSwitched: {
          ok: r.ok,
          fromSessionId: from,
          toSessionId: cmd.targetSessionId,
          error: r.ok ? null : { code: r.error.code, message: r.error.message },
          durationMs: Date.now() - started,
          viewerId,
        },
      },
      msg.meta.id,
    );
    if (r.ok && !r.value.noop) await reporter.publishCurrent();
  };

  const stream: CommandHandler = async (msg: Decoded) => {
    if (msg.startStream) {
      const s = msg.startStream;
      const r = await viewers.start(s.viewerId ?? '', s.targetSessionId ?? 0, s.sessionType !== pb.SessionType.VIEW_ONLY, { fps: s.maxFps ?? 0, quality: s.quality ?? 0 });
      if (!r.ok) {
        await publisher.event(
          'switched',
          {
            sessionSwitched: { ok: false, toSessionId: s.targetSessionId, viewerId: s.viewerId, error: { code: r.error.code, message: r.error.message } },
          },
          msg.meta.id,
        );
      }
    } else if (msg.stopStream) {
      await viewers.stop(msg.stopStream.viewerId ?? '');
    } else if (msg.requestKeyframe) {
      viewers.keyframe(msg.requestKeyframe.sessionId ?? 0);
    }
  };

  let droppedInput = 0;
  const input: CommandHandler = (msg: Decoded) => {
    const ev = msg.input!;
    const target = viewers.inputTarget(ev.viewerId ?? '', ev.sessionId ?? 0);
    if (!target.ok) {
      droppedInput++;
      return;
    }
    const r = ev.mouse ? target.value.mouse(ev.mouse) : ev.key ? target.value.key(ev.key) : { ok: true as const, value: undefined };
    if (!r.ok) droppedInput++;
  };

  const backstage: CommandHandler =
    deps.backstage ??
    (async (msg: Decoded) => {
      await publisher.event(
        'backstageOutput',
        {
          backstageOutput: {
            commandType: msg.backstageCommand?.commandType ?? 0,
            final: true,
            error: { code: ErrorCode.NOT_AVAILABLE, message: 'backstage is not enabled on this agent' },
          },
        },
        msg.meta.id,
      );
    });

  // Live-only subject (no stream): answered over core NATS, never through the publisher's JetStream.
  const refuseTerminal = createTerminalPublisher(nc, agentId);
  const terminal: CommandHandler =
    deps.terminal ??
    ((msg: Decoded) => {
      if (msg.terminalOpen) refuseTerminal(msg.meta.correlationId ?? '', { closed: true, exitCode: -1, error: { code: ErrorCode.NOT_AVAILABLE, message: NOT_AVAILABLE_MESSAGE } });
    });

  const { sub, stats } = listenForCommands(
    nc,
    agentId,
    {
      switchSession,
      startStream: stream,
      stopStream: stream,
      requestKeyframe: stream,
      input,
      requestSessions: (msg) => reporter.publishNow(msg.meta.id),
      backstageCommand: backstage,
      terminalOpen: terminal,
      terminalInput: terminal,
      terminalResize: terminal,
      terminalClose: terminal,
    },
    log,
    { store: seenStore, window },
    publisher,
  );

  // Frames are core NATS: those published while the connection was down are gone, and a still
  // screen sends no new ones. After a reconnect every watched session starts over from a keyframe.
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect') {
        viewers.keyframeAll();
        void reporter.publishNow().catch(() => {});
      }
    }
  })().catch(() => {});

  log.info(
    { platform: platform.name, hostname: identity.hostname, os_version: identity.osVersion, elevated: identity.elevated },
    `online as ${agentId} on ${platform.name} (${identity.hostname}, ${identity.osVersion}${identity.elevated ? ', elevated' : ''})`,
  );
  return {
    agentId,
    refreshSessions: () => reporter.publishNow(),
    async stop() {
      sub.unsubscribe();
      seenStore.close();
      reporter.stop();
      await viewers.close();
      await heartbeat.stop();
      log.info({ ...stats, input_dropped: droppedInput }, 'stopped');
    },
  };
}
