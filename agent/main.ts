/** The agent process: reads its configuration, picks the platform, connects to NATS and runs. */
import { connectBus } from '../infra/bus/connect.js';
import { createBackstageRunner } from './backstage/runner.js';
import { inboxes } from '../proto/subjects.js';
import { loadAgentConfig } from './config.js';
import { startCaptureLoop } from './frames/capture-loop.js';
import { selectPlatform } from './platform/select-platform.js';
import { startAgent } from './runtime/agent.js';
import { createBackstageHandler } from './runtime/backstage-handler.js';
import { createPublisher } from './runtime/publisher.js';
import { selectSpawnPty } from './terminal/select-pty.js';
import { createTerminalManager } from './terminal/terminal-manager.js';
import { createTerminalPublisher } from './terminal/terminal-publisher.js';
import { isSessionHelperInvocation } from './platform/windows/helper-command-line.js';

// A bundled Windows agent starts itself again, with a flag, as the capture helper inside another
// user's session (agent/platform/windows/session-helper): that process is a helper, not an agent.
if (isSessionHelperInvocation()) await (await import('./platform/windows/session-helper/run.js')).runSessionHelperIfAsked();

const config = loadAgentConfig();
const log = (m: string) => console.log(`${new Date().toISOString()} [agent ${config.agentId}] ${m}`);
const platform = await selectPlatform(config.version);
const nc = await connectBus({ servers: config.natsUrl, name: `agent-${config.agentId}`, credsFile: config.credsFile, caFile: config.natsCa, inboxPrefix: inboxes.agent(config.agentId) });
const { jetstream } = await import('@nats-io/jetstream');
const publisher = createPublisher(nc, jetstream(nc), config.agentId);
const runner = createBackstageRunner(platform, {
  defaultTimeoutMs: config.backstageDefaultTimeoutSecs * 1000,
  maxTimeoutMs: config.backstageMaxTimeoutSecs * 1000,
});
const terminals = createTerminalManager({ spawnPty: await selectSpawnPty(), publish: createTerminalPublisher(nc, config.agentId), log });
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
      onError: (e) => log(`capture of session ${desktop.sessionId}: ${e.code} ${e.message}`),
    });
  },
  backstage: createBackstageHandler({ platform, runner, publisher, agentVersion: config.version, log }),
  terminal: (msg) => terminals.handle(msg),
});

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  runner.cancelAll();
  // Shells do not outlive the agent: each tree is killed and its viewer told the terminal closed.
  await terminals.closeAll();
  await agent.stop();
  await nc.drain().catch(() => {});
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
