/**
 * The gateway and the projection workers in one process: the local stack's default. Each half
 * keeps what it would have in its own process: its NATS connection with its own credentials, its
 * Postgres pool, its log file. What they share is the heap (the same libraries loaded once) and the
 * fate: an uncaught exception in either ends both (the projections never throw on a bad message:
 * they count and term() it). Scaled out, they run apart (services/gateway/server.ts, projections/main.ts).
 */
import { pino } from 'pino';
import { startProjections } from '../../projections/start-projections.js';
import { startGateway } from '../../services/gateway/start-gateway.js';

export interface ServerSettings {
  /** The environment both halves read (NATS_URL, NATS_CA, DATABASE_URL, PORT, ...), without credentials. */
  env: NodeJS.ProcessEnv;
  gatewayCreds: string;
  projectionsCreds: string;
  /** Log files of the halves; absent: stdout. */
  gatewayLog?: string;
  projectionsLog?: string;
}

export interface RunningServer {
  /** Stops both halves (each even if the other fails to). */
  stop(): Promise<void>;
}

const logTo = (file: string | undefined) => (file ? pino.destination({ dest: file, append: true, mkdir: true, sync: true }) : undefined);

/** Starts the projections, then the gateway; throws if either cannot start (after stopping what did). */
export async function startServer(s: ServerSettings): Promise<RunningServer> {
  const projections = await startProjections({ ...s.env, NATS_CREDS: s.projectionsCreds }, { destination: logTo(s.projectionsLog) });
  if (!projections.ok) throw new Error(`projections: ${projections.error.message}`);
  const gateway = await startGateway({ ...s.env, NATS_CREDS: s.gatewayCreds }, { destination: logTo(s.gatewayLog) }).catch(async (e: Error) => {
    await projections.value.stop();
    throw e;
  });
  return {
    async stop() {
      const results = await Promise.allSettled([gateway.stop(), projections.value.stop()]);
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      if (failed.length) throw new Error(`stopping the server: ${failed.join('; ')}`);
    },
  };
}
