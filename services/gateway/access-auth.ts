/** Registers the auth plugin (services/auth) on the gateway and exposes it to routes as `Access`. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import type { AgentCredentialIssuer } from '../auth/enrollment.js';
import { type AuthPluginOptions, authPlugin } from '../auth/plugin.js';
import type { Access } from './access.js';
import type { AuditPublisher } from './bus/audit-publisher.js';
import type { Actor } from './bus/command-client.js';

export interface AuthWiring {
  cookieSecure: boolean;
  /** Second factor: GC_MFA_REQUIRED roles and the name authenticator apps show. */
  mfa?: AuthPluginOptions['mfa'];
  /** Login policy overrides (tests: small limits, a fixed clock). */
  login?: AuthPluginOptions['login'];
  /** Session tokens and machine grants trusted this long without a database lookup (GC_AUTH_CACHE_MS); absent or 0: none. */
  sessionCacheMs?: number;
  enrollment?: { issuer: AgentCredentialIssuer; natsUrl: string | string[] };
}

const actorOf = (request: FastifyRequest): Actor | undefined => (request.user ? { userId: request.user.id, userName: request.user.name, role: request.user.role } : undefined);

/** Returns the `auth` dependency of buildApp. */
export function withAuth(wiring: AuthWiring) {
  return async (app: FastifyInstance, { audit, db }: { audit: AuditPublisher; db: Kysely<Database> }): Promise<Access> => {
    await app.register(authPlugin, {
      db,
      audit: (ev) => audit({ eventType: ev.eventType, agentId: ev.agentId, details: ev.details, actor: ev.actor ? { userId: ev.actor.id, userName: ev.actor.name, role: ev.actor.role } : undefined }),
      cookieSecure: wiring.cookieSecure,
      enrollment: wiring.enrollment,
      mfa: wiring.mfa,
      login: wiring.login,
      sessionCache: wiring.sessionCacheMs ? { ttlMs: wiring.sessionCacheMs } : undefined,
    });
    return {
      actor: (request) => actorOf(request) ?? { userId: '', userName: '', role: '' },
      requireRole: (action) => app.requireRole(action),
      canAccessMachine: async (request, agentId) => (request.user ? app.canAccessMachine(request.user, agentId) : false),
      accessibleMachines: async (request) => (request.user ? app.accessibleMachines(request.user) : []),
      wsActor: actorOf,
      stillValid: async (request) => {
        const was = request.user;
        const now = was ? await app.reauthenticate(request) : null;
        return !!now && now.id === was?.id && now.role === was.role;
      },
    };
  };
}
