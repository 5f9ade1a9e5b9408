/** Gateway configuration, read and validated once at start-up. */
import { z } from 'zod';
import { logLevelSchema } from '../../infra/log/logger.js';
import { DEFAULT_DENIAL_FOLD_MS } from './bus/denial-folder.js';

export const gatewayConfigSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().default('127.0.0.1'),
  natsUrl: z.string().min(1),
  natsCreds: z.string().optional(),
  databaseUrl: z.string().min(1),
  /** How long a command waits for the agent's answer before TIMEOUT. */
  commandTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** A machine whose last heartbeat is older than this many intervals is offline. */
  offlineAfterBeats: z.coerce.number().min(1.5).max(20).default(3),
  backstageMaxTimeoutSecs: z.coerce.number().int().min(1).max(86_400).default(600),
  secureCookies: z.coerce.boolean().default(false),
  /** File holding the key of the gateway's derived event ids (bus/event-ids.ts); shared by every gateway. */
  eventIdKeyFile: z.string().min(1).optional(),
  /** Denials of one actor, action, reason and machine within this window become one more audit event with a count. */
  denialFoldMs: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_DENIAL_FOLD_MS),
  logLevel: logLevelSchema.default('info'),
  /** Directory of the NATS account keys: set where this gateway also enrolls agents (one machine). */
  natsAuthDir: z.string().min(1).optional(),
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const r = gatewayConfigSchema.safeParse({
    port: env.PORT,
    host: env.GC_HOST,
    natsUrl: env.NATS_URL,
    natsCreds: env.NATS_CREDS || undefined,
    databaseUrl: env.DATABASE_URL,
    commandTimeoutMs: env.GC_COMMAND_TIMEOUT_MS,
    offlineAfterBeats: env.GC_OFFLINE_AFTER_BEATS,
    backstageMaxTimeoutSecs: env.GC_BACKSTAGE_MAX_TIMEOUT_SECS,
    secureCookies: env.GC_SECURE_COOKIES,
    eventIdKeyFile: env.GC_EVENT_ID_KEY_FILE || undefined,
    denialFoldMs: env.GC_DENIAL_FOLD_MS,
    logLevel: env.GC_LOG_LEVEL || undefined,
    natsAuthDir: env.GC_NATS_AUTH_DIR || undefined,
  });
  if (!r.success) throw new Error(`invalid gateway configuration: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}
