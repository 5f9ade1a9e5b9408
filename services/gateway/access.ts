/**
 * What routes need to know about the caller: who they are, their role, and which machines they may
 * reach. Implemented over the auth plugin (services/auth) in app.ts; routes depend only on this.
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { PolicyAction } from '../auth/policy.js';
import type { Actor } from './bus/command-client.js';

export interface Access {
  /** The authenticated caller (routes run after `requireRole`, so one exists). */
  actor(request: FastifyRequest): Actor;
  /** preHandler answering 401/403 (audited) unless the policy table (auth/policy.ts) allows the caller `action`. */
  requireRole(action: PolicyAction): preHandlerAsyncHookHandler;
  /** Whether the caller may see and command this machine (a machine they may not reach is a 404). */
  canAccessMachine(request: FastifyRequest, agentId: string): Promise<boolean>;
  /** The machines the caller may see. */
  accessibleMachines(request: FastifyRequest): Promise<'*' | string[]>;
  /** Authenticates a WebSocket upgrade (cookie or bearer); undefined when not logged in. */
  wsActor(request: FastifyRequest): Actor | undefined;
  /** Whether the token a socket was opened with still stands for the same user in the same role. */
  stillValid(request: FastifyRequest): Promise<boolean>;
}
