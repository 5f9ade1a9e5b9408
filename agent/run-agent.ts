/**
 * The agent process's work: reads its configuration, picks the platform, connects to NATS and runs
 * until stopped. Shared by the source entry (`agent/main.ts`), the single-file binary's foreground
 * run and its Windows service (`agent/cli.ts`), so that all three stop the same way.
 */
import { connectBus } from '../proto/bus/connect.js';
import type { Logger, LoggerConfig } from '../proto/log/logger.js';
import { createBackstageRunner } from './backstage/runner.js';
import { loadAgentConfig } from './config.js';
import { writeConnectionState } from './install/connection-state.js';
import { startCaptureLoop } from './frames/capture-loop.js';
import { createAgentLogger } from './log.js';
import { selectPlatform } from './platform/select-platform.js';
import { startAgent } from './runtime/agent.js';
import { createBackstageHandler } from './runtime/backstage-handler.js';
import { createPublisher } from './runtime/publisher.js';
import { createTerminalManager } from './terminal/terminal-manager.js';
import { createTerminalPublisher } from './terminal/terminal-publisher.js';

export interface AgentProcess {
  /** Graceful stop: commands cancelled, shells closed, AGENT_STOPPING published, NATS drained. Idempotent. */
  stop(reason: string): Promise<void>;
  /** Publishes a fresh session list now (a service hears session changes before the poll does). */
  refreshSessions(): Promise<void>;
  /** The agent's logger (its id on every line). */
  log: Logger;
}

export interface RunAgentOptions {
  /** Stop on SIGINT / SIGTERM and exit 0 afterwards (a console or systemd run); default true. */
  handleSignals?: boolean;
  /** The agent's version (the binary's build version; from source the configuration's default). */
  version?: string;
  /** Where log lines go (the Windows service: its log file); default stdout. */
  logDestination?: LoggerConfig['destination'];
}

/** Starts the agent with the configuration of `process.env`; resolves once it is online. */
export async function runAgent(opts: RunAgentOptions = {}): Promise<AgentProcess> {
  const loaded = loadAgentConfig();
  const config = opts.version ? { ...loaded, version: opts.version } : loaded;
  const log = createAgentLogger(config, opts.logDestination);
  const { port: platform, spawnPty } = await selectPlatform(config.version, (m) => log.warn({ component: 'platform' }, m));
  // Its inbox tree (_INBOX.a.<agent>) comes from its credentials, as for every service (connectBus).
  const nc = await connectBus({ servers: config.natsUrl, name: `agent-${config.agentId}`, credsFile: config.credsFile, caFile: config.natsCa }).catch((e: Error) => {
    // Only what no retry mends ends up here (a certificate our CA does not vouch for): say it in the log the operator reads.
    log.fatal({ error_code: 'BUS_UNAVAILABLE' }, e.message);
    throw e;
  });
  const recordConnection = (connected: boolean) => writeConnectionState(config.stateDir, { pid: process.pid, connected, server: nc.getServer(), since: new Date().toISOString() });
  const { jetstream } = await import('@nats-io/jetstream');
  const publisher = createPublisher(nc, jetstream(nc), config.agentId);
  const runner = createBackstageRunner(platform, {
    defaultTimeoutMs: config.backstageDefaultTimeoutSecs * 1000,
    maxTimeoutMs: config.backstageMaxTimeoutSecs * 1000,
  });
  const terminals = createTerminalManager({ spawnPty, publish: createTerminalPublisher(nc, config.agentId), log });
  let epoch = 0;
  const agent = await startAgent({
    nc,
    platform,
    config,
    log,
    startCapture: (desktop) => {
      epoch++;
      return startCaptureLoop(desktop, {
        fps: config.captureFps,
        quality: config.captureQuality,
        epoch: () => epoch,
        onFrame: (frame) => publisher.frame(desktop.sessionId, { videoFrame: frame }),
        onError: (e) => log.warn({ session_id: desktop.sessionId, error_code: e.code }, `capture failed: ${e.message}`),
      });
    },
    backstage: createBackstageHandler({ platform, runner, publisher, agentVersion: config.version }),
    terminal: (msg) => terminals.handle(msg),
    publisher,
  });

  // After startAgent: it creates the state directory.
  recordConnection(true);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') {
        recordConnection(s.type === 'reconnect');
        log[s.type === 'reconnect' ? 'info' : 'warn']({ server: s.server }, `NATS ${s.type}`);
      }
    }
  })().catch(() => {});

  let stopped: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopped ??= (async () => {
      log.info({ reason }, `${reason}: stopping`);
      runner.cancelAll();
      // Shells do not outlive the agent: each tree is killed and its viewer told the terminal closed.
      await terminals.closeAll();
      await agent.stop();
      await nc.drain().catch(() => {});
      recordConnection(false);
    })();
    return stopped;
  };
  if (opts.handleSignals ?? true) {
    const onSignal = (signal: string) => void stop(signal).then(() => process.exit(0));
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  }
  return { stop, refreshSessions: () => agent.refreshSessions(), log };
}
