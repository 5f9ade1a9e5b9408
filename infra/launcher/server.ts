/**
 * The server process of the local stack's `shared` layout (GC_SERVER_PROCESSES=shared, and the
 * tests' default): the gateway and the projection workers in one process beside the launcher
 * (start-server.ts). Credentials per half: GC_GATEWAY_NATS_CREDS, GC_PROJECTIONS_NATS_CREDS; logs:
 * the gateway's on stdout, the projections' in GC_PROJECTIONS_LOG_FILE (default stdout).
 */
import { startServer } from './start-server.js';

const server = await startServer({
  env: process.env,
  gatewayCreds: process.env.GC_GATEWAY_NATS_CREDS ?? '',
  projectionsCreds: process.env.GC_PROJECTIONS_NATS_CREDS ?? '',
  projectionsLog: process.env.GC_PROJECTIONS_LOG_FILE || undefined,
});

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  const code = await server.stop().then(
    () => 0,
    (e: Error) => {
      console.error(`[server] ${e.message}`);
      return 1;
    },
  );
  process.exit(code);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
