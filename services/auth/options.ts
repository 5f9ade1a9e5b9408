/** Options of the auth plugin and the audit hook it reports through. */
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import type { AgentCredentialIssuer } from './enrollment.js';
import type { LoginPolicy } from './login.js';
import type { AuthUser, Role } from './roles.js';
import type { SessionCacheOptions } from './session-cache.js';

export type AuditEvent = { eventType: string; actor?: AuthUser; agentId?: string; details: Record<string, unknown> };
export type AuditFn = (ev: AuditEvent) => Promise<void>;

export interface AuthPluginOptions {
  db: Kysely<Database>;
  /** Records a technician action (the gateway publishes it on gc.audit.<eventType>). */
  audit: AuditFn;
  /** Adds `Secure` to the session cookie; on whenever the dashboard is served over HTTPS. */
  cookieSecure?: boolean;
  /**
   * Session tokens resolved and machine grants looked up recently are kept this long at most
   * (session-cache.ts, grant-cache.ts); a change made by another process takes effect here within
   * ttlMs. Absent or ttlMs 0: every request asks the database.
   */
  sessionCache?: SessionCacheOptions;
  /** API tokens: how often a token's last_used_at is written at most (default api-tokens.ts `apiTokenDefaults`). */
  apiTokens?: { touchEveryMs?: number };
  /** The second factor: roles that must have one (GC_MFA_REQUIRED), the issuer name shown by authenticator apps. */
  mfa?: { requiredRoles?: readonly Role[]; issuer?: string };
  /** Lockout and rate-limit policy; defaults in login.ts `loginDefaults`. */
  login?: Partial<LoginPolicy>;
  /** Enables POST /api/agents/enroll and /api/agents/:agentId/revoke; without it they answer NOT_AVAILABLE. */
  enrollment?: {
    issuer: AgentCredentialIssuer;
    /** NATS URL(s) handed to enrolled agents. */
    natsUrl: string | string[];
    /** NATS URL(s) the gateway pushes revocations to; defaults to natsUrl. */
    natsServers?: string | string[];
  };
}

/**
 * Wraps `audit` so a failed audit publish is logged instead of failing an action that already
 * happened (the denial or change stands; the log line carries the correlation id).
 */
export function loggedAudit(audit: AuditFn, log: { error: (o: object, m: string) => void }): (ev: AuditEvent) => Promise<void> {
  return (ev) => audit(withApiToken(ev)).catch((e: unknown) => log.error({ err: e }, `audit of ${ev.eventType} failed`));
}

/** An action taken with an API token names the token in its details (the actor is the token's user). */
function withApiToken(ev: AuditEvent): AuditEvent {
  const t = ev.actor?.api_token;
  return t ? { ...ev, details: { ...ev.details, api_token_id: t.id, api_token_name: t.name } } : ev;
}
