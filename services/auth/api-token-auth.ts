/** Authenticates a request that presents an API token (`gca_…`), records its use, and refuses dead tokens. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { createApiTokenTouch, resolveApiToken } from './api-tokens.js';
import { type AuditFn, loggedAudit } from './options.js';
import { sendError } from './reply.js';

/**
 * Builds the onRequest step for API tokens: sets `req.user` (with `api_token`) for a live token, and
 * answers 401 at once for an unknown, revoked (TOKEN_REVOKED) or expired (TOKEN_EXPIRED) one, so a
 * script sees why, whatever route it called. The first use of a token in each interval writes its
 * last_used_at and is audited as `api_token_used`; every action after that carries the token's user
 * as actor and the token in the audit details (options.ts `loggedAudit`).
 */
export function createApiTokenAuth(db: Kysely<Database>, audit: AuditFn, opts: { touchEveryMs?: number } = {}) {
  const touch = createApiTokenTouch(db, opts);
  return async (req: FastifyRequest, reply: FastifyReply, token: string): Promise<FastifyReply | undefined> => {
    const r = await resolveApiToken(db, token);
    if (!r.ok) return sendError(reply, r.error.code, r.error.message);
    req.user = r.value;
    // Bookkeeping must not fail the script's request: a failed last-used write is logged, not answered.
    const first = await touch(r.value.api_token.id).catch((e: unknown) => {
      req.log.error({ err: e }, 'recording an API token use failed');
      return false;
    });
    if (first) {
      const path = (req.routeOptions.url ?? req.url.split('?')[0] ?? '').slice(0, 200);
      await loggedAudit(audit, req.log)({ eventType: 'api_token_used', actor: r.value, details: { method: req.method, path, ip: req.ip } });
    }
    return undefined;
  };
}
