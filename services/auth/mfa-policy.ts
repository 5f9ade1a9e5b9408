/**
 * GC_MFA_REQUIRED: which roles must have a second factor, and what a signed-in user without one may
 * still do (see and set up the factor, sign out); every other API call and socket answers
 * MFA_SETUP_REQUIRED. API tokens are exempt: they are issued by an admin for scripts, which have no
 * authenticator app.
 */
import type { FastifyRequest } from 'fastify';
import type { AuthPluginOptions } from './options.js';
import type { AuthUser } from './roles.js';

/** Whether `user`'s role must have a second factor (never for API tokens). */
export function mfaRequiredFor(opts: Pick<AuthPluginOptions, 'mfa'>, user: AuthUser): boolean {
  return !user.api_token && (opts.mfa?.requiredRoles ?? []).includes(user.role);
}

const SETUP_ROUTES = new Set(['GET /api/auth/me', 'POST /api/auth/logout', 'GET /api/auth/mfa', 'POST /api/auth/mfa/setup', 'POST /api/auth/mfa/confirm']);

/** Whether a user who still has to set up a factor may make this request (set-up, sign-out, the dashboard's files). */
export function allowedBeforeSetup(req: FastifyRequest): boolean {
  const path = req.url.split('?')[0] ?? '';
  if (!path.startsWith('/api/') && !path.startsWith('/ws/')) return true;
  return SETUP_ROUTES.has(`${req.method} ${req.routeOptions.url ?? path}`);
}
