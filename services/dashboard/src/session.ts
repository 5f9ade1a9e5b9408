/** The signed-in technician (GET /api/auth/me), login and logout. */
import { type ApiResult, api } from './api.js';
import type { AuthUser, Role } from './types.js';

let current: AuthUser | undefined;

/** The cached user, if known. */
export function currentUser(): AuthUser | undefined {
  return current;
}

/** Asks the gateway who we are; undefined when not signed in. */
export async function loadMe(): Promise<AuthUser | undefined> {
  const r = await api<{ user: AuthUser }>('GET', '/api/auth/me');
  current = r.ok ? r.value.user : undefined;
  return current;
}

/** Signs in; the gateway sets the HttpOnly session cookie. */
export async function login(name: string, password: string): Promise<ApiResult<AuthUser>> {
  const r = await api<{ user: AuthUser }>('POST', '/api/auth/login', { name, password });
  if (!r.ok) return r;
  current = r.value.user;
  return { ok: true, value: current };
}

/** Signs out (revokes the token server-side). */
export async function logout(): Promise<void> {
  await api('POST', '/api/auth/logout');
  current = undefined;
}

/** Whether `user` has one of `roles`. */
export function hasRole(user: AuthUser | undefined, ...roles: Role[]): boolean {
  return !!user && roles.includes(user.role);
}
