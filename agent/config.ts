/** Agent configuration, read and validated once at start-up from the environment. */
import { homedir, hostname } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { readNatsCa } from '../proto/bus/nats-ca.js';
import { HEARTBEAT_MS } from '../proto/heartbeat.js';
import { agentIdSchema } from '../proto/ids.js';
import { logLevelSchema } from '../proto/log/logger.js';
import { DEFAULT_COMMAND_WINDOW } from './runtime/command-window.js';

const sanitize = (h: string) => h.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'agent';

const agentConfigSchema = z.object({
  /** The agent's id: one subject token (see proto/ids.ts). Defaults to the sanitized hostname. */
  agentId: agentIdSchema,
  natsUrl: z.string().min(1),
  /**
   * PEM file of the CA the NATS servers' certificates chain to (the `nats_ca` of the enrollment reply):
   * the agent trusts exactly its own deployment. Absent: a tls:// URL is verified against the system's CAs.
   */
  natsCa: z
    .string()
    .optional()
    .superRefine((p, ctx) => {
      const r = p === undefined ? undefined : readNatsCa(p, 'GC_NATS_CA');
      if (r && !r.ok) ctx.addIssue({ code: z.ZodIssueCode.custom, message: r.error.message });
    }),
  /** Per-agent NATS credentials (issued at enrollment); absent on an open development server. */
  credsFile: z.string().optional(),
  heartbeatMs: z.coerce.number().int().min(HEARTBEAT_MS.min).max(HEARTBEAT_MS.max).default(HEARTBEAT_MS.default),
  /** Session-list poll interval where the platform has no change notification (issue: at most 2 s). */
  sessionPollMs: z.coerce.number().int().min(100).max(2_000).default(2_000),
  backstageDefaultTimeoutSecs: z.coerce.number().int().min(1).max(3600).default(60),
  backstageMaxTimeoutSecs: z.coerce.number().int().min(1).max(86_400).default(600),
  maxConcurrentCaptures: z.coerce.number().int().min(1).max(64).default(4),
  captureFps: z.coerce.number().int().min(1).max(60).default(30),
  /** JPEG quality of live-view tiles; a viewer that falls behind asks for less. */
  captureQuality: z.coerce.number().int().min(10).max(100).default(70),
  version: z.string().default('0.1.0'),
  /** GC_LOG_LEVEL, as for the gateway and the projections. */
  logLevel: logLevelSchema.default('info'),
  /** Where the agent keeps its state (the ids of the commands it ran); owner-only, like its creds. */
  stateDir: z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => isAbsolute(p) && !p.includes('\0'), 'must be an absolute path'),
  /** A stored command dated earlier than this is refused (agent/runtime/command-window.ts says why 2 min). */
  commandMaxAgeMs: z.coerce.number().int().min(1_000).max(3_600_000).default(DEFAULT_COMMAND_WINDOW.maxAgeMs),
  /** A stored command dated later than now + this is refused; allows the gateway's clock to run ahead. */
  commandMaxFutureMs: z.coerce.number().int().min(0).max(600_000).default(DEFAULT_COMMAND_WINDOW.maxFutureMs),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;

/** Next to the creds (a directory only the agent's account reads); without creds (development), in the home directory. */
function defaultStateDir(credsFile: string | undefined): string {
  return credsFile ? dirname(resolve(credsFile)) : resolve(homedir(), '.guruconnect-agent');
}

/** Reads GC_* variables; throws a readable message when one is invalid. */
export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const parsed = agentConfigSchema.safeParse({
    agentId: env.GC_AGENT_ID ?? sanitize(hostname()),
    natsUrl: env.NATS_URL ?? 'tls://127.0.0.1:4222',
    natsCa: env.GC_NATS_CA || undefined,
    credsFile: env.GC_AGENT_CREDS || undefined,
    heartbeatMs: env.GC_HEARTBEAT_MS,
    sessionPollMs: env.GC_SESSION_POLL_MS,
    backstageDefaultTimeoutSecs: env.GC_BACKSTAGE_TIMEOUT_SECS,
    backstageMaxTimeoutSecs: env.GC_BACKSTAGE_MAX_TIMEOUT_SECS,
    maxConcurrentCaptures: env.GC_MAX_CAPTURES,
    captureFps: env.GC_CAPTURE_FPS,
    captureQuality: env.GC_CAPTURE_QUALITY,
    stateDir: env.GC_AGENT_STATE_DIR || defaultStateDir(env.GC_AGENT_CREDS || undefined),
    commandMaxAgeMs: env.GC_COMMAND_MAX_AGE_MS,
    commandMaxFutureMs: env.GC_COMMAND_MAX_FUTURE_MS,
    logLevel: env.GC_LOG_LEVEL || undefined,
  });
  if (!parsed.success) {
    throw new Error(`invalid agent configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
