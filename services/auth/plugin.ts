/**
 * The auth plugin: resolves `request.user` from a bearer token or the session cookie, decorates the
 * app with role and machine-access checks, and registers the auth, user and enrollment routes.
 * Not encapsulated, so the decorations are visible to every sibling plugin of the gateway.
 */
import type { FastifyPluginAsync, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ErrorCode } from '../../proto/errors.js';
import { createApiTokenAuth } from './api-token-auth.js';
import { isApiToken, resolveApiToken } from './api-tokens.js';
import { SESSION_COOKIE, readCookie } from './cookies.js';
import { allowedBeforeSetup, mfaRequiredFor } from './mfa-policy.js';
import { type AuthPluginOptions, loggedAudit } from './options.js';
import { type PolicyAction, can, isPolicyAction, rolesFor } from './policy.js';
import { sendError } from './reply.js';
import { ALL_MACHINES, type AuthUser, type Role } from './roles.js';
import { authRoutes } from './routes.js';
import { cachedCanAccessMachine, createGrantCache } from './grant-cache.js';
import { hashSecret } from './secrets.js';
import { createSessionCache, sessionCacheDefaults } from './session-cache.js';
import { MAX_TOKEN_LENGTH, resolveTokenHash, tokenIds } from './tokens.js';
import { accessibleMachines } from './users.js';

export type { AuditEvent, AuditFn, AuthPluginOptions } from './options.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated technician, or null (no or invalid token). */
    user: AuthUser | null;
  }
  interface FastifyInstance {
    /**
     * preHandler: 401 without a user, 403 (audited as access_denied) unless the policy table allows
     * `action` (policy.ts), or, for auth's own admin routes, without one of `roles`.
     */
    requireRole(...allowed: [PolicyAction] | Role[]): preHandlerAsyncHookHandler;
    canAccessMachine(user: AuthUser, agentId: string): Promise<boolean>;
    /**
     * Who the token `req` came with stands for now (null: logged out, revoked, expired, user
     * disabled): a long-lived socket asks this again, since onRequest looked only once, at the upgrade.
     */
    reauthenticate(req: FastifyRequest): Promise<AuthUser | null>;
    /** The machines `user` may see listed: '*' for admins and auditors, else their grants. */
    accessibleMachines(user: AuthUser): Promise<'*' | string[]>;
  }
}

/** The presented token: `Authorization: Bearer` first, then the session cookie. */
export function presentedToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim() || undefined;
  return readCookie(req.headers.cookie, SESSION_COOKIE);
}

const plugin: FastifyPluginAsync<AuthPluginOptions> = async (app, opts) => {
  const { db, audit } = opts;
  app.decorateRequest('user', null);
  const apiTokenAuth = createApiTokenAuth(db, audit, opts.apiTokens);
  const now = opts.sessionCache?.now ?? Date.now;
  const cached = opts.sessionCache && (opts.sessionCache.ttlMs ?? sessionCacheDefaults.ttlMs) > 0;
  const sessions = cached ? createSessionCache(opts.sessionCache) : undefined;
  // Grants are kept under the same bound and emptied by the same changes (grant-cache.ts).
  const grants = cached ? createGrantCache(opts.sessionCache) : undefined;
  /** The live session behind a presented token: the cache first, else the database (whose answer is kept). */
  const resolveSession = async (token: string) => {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const hash = hashSecret(token);
    const hit = sessions?.get(hash);
    if (hit) return hit;
    const generation = sessions?.generation() ?? 0;
    const found = await resolveTokenHash(db, hash, new Date(now()));
    if (found) sessions?.put(hash, found, generation);
    return found;
  };

  // onRequest also runs for WebSocket upgrades (they are GET routes), so sockets see request.user.
  app.addHook('onRequest', async (req, reply) => {
    const token = presentedToken(req);
    if (!token) return;
    // API tokens (gca_) answer 401 with their own code when revoked or expired; session tokens stay anonymous.
    if (isApiToken(token)) return apiTokenAuth(req, reply, token);
    const found = await resolveSession(token);
    if (!found) return;
    req.user = found.user;
    tokenIds.set(req, found.tokenId);
    // GC_MFA_REQUIRED: a session of such a role without a factor reaches set-up and nothing else.
    if (!found.mfaEnabled && mfaRequiredFor(opts, found.user) && !allowedBeforeSetup(req)) {
      return sendError(
        reply,
        ErrorCode.MFA_SETUP_REQUIRED,
        `your role (${found.user.role}) must use a second factor: set it up first (dashboard, or POST /api/auth/mfa/setup then /api/auth/mfa/confirm)`,
      );
    }
  });

  app.decorate('requireRole', (...allowed: [PolicyAction] | Role[]): preHandlerAsyncHookHandler => {
    const [first] = allowed;
    const policyAction = allowed.length === 1 && first !== undefined && isPolicyAction(first) ? first : undefined;
    const roles: readonly Role[] = policyAction ? rolesFor(policyAction) : (allowed as Role[]);
    return async function requireRole(req, reply) {
      if (!req.user) return sendError(reply, ErrorCode.UNAUTHENTICATED, 'sign in first (Authorization: Bearer <token> or the gc_session cookie)');
      if (policyAction ? can(req.user, policyAction).allowed : roles.includes(req.user.role)) return;
      const action = `${req.method} ${req.routeOptions.url ?? req.url}`;
      const reason = `role ${req.user.role} is not one of ${roles.join(', ')}`;
      await loggedAudit(audit, req.log)({ eventType: 'access_denied', actor: req.user, details: { action, reason } });
      return sendError(reply, ErrorCode.FORBIDDEN, `${action} needs role ${roles.join(' or ')}; you are ${req.user.role}`);
    };
  });
  app.decorate('canAccessMachine', (user: AuthUser, agentId: string) => cachedCanAccessMachine(db, grants, user, agentId));
  app.decorate('reauthenticate', async (req: FastifyRequest) => {
    const token = presentedToken(req);
    if (!token) return null;
    if (isApiToken(token)) {
      const r = await resolveApiToken(db, token, new Date(now()));
      return r.ok ? r.value : null;
    }
    return (await resolveSession(token))?.user ?? null;
  });
  // Auditors see every machine in listings, to map the audit log's agent ids to host names, but
  // reach none: canAccessMachine stays grant-based, so no machine page, viewer socket or command.
  app.decorate('accessibleMachines', async (user: AuthUser) => (user.role === 'auditor' ? ALL_MACHINES : accessibleMachines(db, user)));

  await app.register(async (scope) => {
    // Any auth route that is not a read may change who may do what (logout, revocations, grants,
    // second factor, users): both caches are emptied and keep nothing until the answer is out
    // (auth-cache.ts). Ended twice at most (answered, or the client went away); never ended
    // leaves the cache off, the safe side.
    if (sessions && grants) {
      const ends = new WeakMap<FastifyRequest, () => void>();
      const end = async (req: FastifyRequest) => ends.get(req)?.();
      scope.addHook('onRequest', async (req) => {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const [endSessions, endGrants] = [sessions.beginChange(), grants.beginChange()];
          ends.set(req, () => {
            endSessions();
            endGrants();
          });
        }
      });
      scope.addHook('onResponse', end);
      scope.addHook('onRequestAbort', end);
    }
    await scope.register(authRoutes, opts);
  });
};

// fastify-plugin is not a direct dependency; this symbol is what it sets to skip encapsulation.
(plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
(plugin as unknown as Record<symbol, string>)[Symbol.for('fastify.display-name')] = 'gc-auth';

export const authPlugin: FastifyPluginAsync<AuthPluginOptions> = plugin;
