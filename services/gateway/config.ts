/** Gateway configuration, read and validated once at start-up. */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { logLevelSchema } from '../../proto/log/logger.js';
import { roleSchema } from '../auth/roles.js';
import { DEFAULT_DENIAL_FOLD_MS } from './bus/denial-folder.js';
import { MAX_CONTROL_PER_SEC } from './ws/control-budget.js';

/**
 * GC_TRUST_PROXY: unset, '', 0, false or off trusts no proxy (X-Forwarded-For/-Proto ignored, the
 * login rate limits key on the socket address); a comma-separated list of the proxies' addresses or
 * CIDRs trusts X-Forwarded-* from those peers only; 'true' from any peer (only when nothing but the
 * proxy can reach the gateway). Hop counts are refused: fastify ignores them (it cannot tell the
 * proxy from a client that forged enough hops).
 */
const trustProxySchema = z
  .string()
  .optional()
  .transform((v, ctx): boolean | string => {
    const s = (v ?? '').trim();
    if (s === '' || /^(0|false|off|no)$/i.test(s)) return false;
    if (/^(true|on|yes)$/i.test(s)) return true;
    if (/^[0-9A-Fa-f.:/, ]+$/.test(s) && /[.:]/.test(s)) return s;
    ctx.addIssue({ code: 'custom', message: "GC_TRUST_PROXY must be off, the proxies' addresses or CIDRs separated by commas, or true" });
    return z.NEVER;
  });

/** GC_MFA_REQUIRED: comma-separated roles that must use a second factor. */
const mfaRolesSchema = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const names = (v ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    const roles = names.map((n) => roleSchema.safeParse(n));
    const bad = names.filter((_n, i) => !roles[i]?.success);
    if (bad.length) {
      ctx.addIssue({ code: 'custom', message: `GC_MFA_REQUIRED names unknown roles ${bad.join(', ')}; use ${roleSchema.options.join(', ')}` });
      return z.NEVER;
    }
    return [...new Set(roles.flatMap((r) => (r.success ? [r.data] : [])))];
  });

export const gatewayConfigSchema = z
  .object({
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
    /** GC_VIEWER_CONTROL_PER_SEC: control messages one viewer socket acts on per second (ws/control-budget.ts). */
    viewerControlPerSec: z.coerce.number().int().min(1).max(100_000).default(MAX_CONTROL_PER_SEC),
    secureCookies: z.coerce.boolean().default(false),
    /** File holding the key of the gateway's derived event ids (bus/event-ids.ts); shared by every gateway. */
    eventIdKeyFile: z.string().min(1).optional(),
    /** Denials of one actor, action, reason and machine within this window become one more audit event with a count. */
    denialFoldMs: z.coerce.number().int().min(100).max(600_000).default(DEFAULT_DENIAL_FOLD_MS),
    logLevel: logLevelSchema.default('info'),
    /** Directory of the NATS account keys: set where this gateway also enrolls agents (one machine). */
    natsAuthDir: z.string().min(1).optional(),
    /** PEM files of the gateway's own certificate (chain) and key: HTTPS when both are given. */
    httpsCert: z.string().min(1).optional(),
    httpsKey: z.string().min(1).optional(),
    trustProxy: trustProxySchema,
    mfaRequiredRoles: mfaRolesSchema,
    /**
     * How long a resolved session token is trusted without asking the database (ms; 0: always ask).
     * A logout or revocation through this gateway takes effect at once; one made elsewhere (another
     * gateway, the CLI, SQL) within this bound (services/auth/session-cache.ts).
     */
    authCacheMs: z.coerce.number().int().min(0).max(10_000).default(1000),
    /** GC_SERVER_TIMING=1: command routes answer with a Server-Timing header of the command's hops (benchmarks, diagnosis). */
    serverTiming: z
      .string()
      .optional()
      .transform((v) => /^(1|true|on|yes)$/i.test((v ?? '').trim())),
  })
  .refine((c) => !c.httpsCert === !c.httpsKey, { message: 'give both GC_HTTPS_CERT and GC_HTTPS_KEY, or neither', path: ['httpsCert'] });
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
    viewerControlPerSec: env.GC_VIEWER_CONTROL_PER_SEC || undefined,
    secureCookies: env.GC_SECURE_COOKIES,
    eventIdKeyFile: env.GC_EVENT_ID_KEY_FILE || undefined,
    denialFoldMs: env.GC_DENIAL_FOLD_MS,
    logLevel: env.GC_LOG_LEVEL || undefined,
    natsAuthDir: env.GC_NATS_AUTH_DIR || undefined,
    httpsCert: env.GC_HTTPS_CERT || undefined,
    httpsKey: env.GC_HTTPS_KEY || undefined,
    trustProxy: env.GC_TRUST_PROXY,
    mfaRequiredRoles: env.GC_MFA_REQUIRED,
    serverTiming: env.GC_SERVER_TIMING,
    authCacheMs: env.GC_AUTH_CACHE_MS || undefined,
  });
  if (!r.success) throw new Error(`invalid gateway configuration: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const https = readHttpsFiles(r.data);
  if (https && !https.ok) throw new Error(`invalid gateway configuration: ${https.error}`);
  return r.data;
}

/**
 * The certificate and key of GC_HTTPS_CERT / GC_HTTPS_KEY, checked to be readable PEM that belong
 * together (so a wrong pair stops the start with a message, not the first browser); undefined
 * without HTTPS.
 */
export function readHttpsFiles(c: Pick<GatewayConfig, 'httpsCert' | 'httpsKey'>): { ok: true; cert: Buffer; key: Buffer } | { ok: false; error: string } | undefined {
  if (!c.httpsCert || !c.httpsKey) return undefined;
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(c.httpsCert);
    key = readFileSync(c.httpsKey);
  } catch (e) {
    return { ok: false, error: `cannot read the HTTPS certificate or key: ${(e as Error).message}` };
  }
  try {
    const x = new X509Certificate(cert);
    if (!x.checkPrivateKey(createPrivateKey(key))) return { ok: false, error: `GC_HTTPS_KEY ${c.httpsKey} is not the key of the certificate in GC_HTTPS_CERT ${c.httpsCert}` };
    if (new Date(x.validTo) < new Date()) return { ok: false, error: `the certificate in GC_HTTPS_CERT expired on ${x.validTo}` };
  } catch (e) {
    return { ok: false, error: `GC_HTTPS_CERT / GC_HTTPS_KEY are not a PEM certificate and private key: ${(e as Error).message}` };
  }
  return { ok: true, cert, key };
}
