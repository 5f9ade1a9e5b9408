/** The signed-in technician (GET /api/auth/me), the two sign-in steps, and logout. */
import { type ApiResult, api } from './api.js';
import type { AuthUser, MfaStatusDto, Role } from './types.js';

let current: AuthUser | undefined;
let mfa: MfaStatusDto | undefined;

/** The cached user, if known. */
export function currentUser(): AuthUser | undefined {
  return current;
}

/** The cached state of the user's second factor, if known. */
export function currentMfa(): MfaStatusDto | undefined {
  return mfa;
}

/** Whether the user must set up a second factor before anything else (GC_MFA_REQUIRED). */
export function mustSetUpMfa(): boolean {
  return !!mfa && mfa.required && !mfa.enabled;
}

/** Asks the gateway who we are; undefined when not signed in. */
export async function loadMe(): Promise<AuthUser | undefined> {
  const r = await api<{ user: AuthUser; mfa: MfaStatusDto }>('GET', '/api/auth/me');
  current = r.ok ? r.value.user : undefined;
  mfa = r.ok ? r.value.mfa : undefined;
  return current;
}

/** The password step: signed in (cookie set), or a challenge for the code step when the user has a second factor. */
export type PasswordStep = { kind: 'session'; user: AuthUser } | { kind: 'mfa'; challenge: string };

/** Signs in with name and password; the gateway sets the HttpOnly session cookie unless a code is needed. */
export async function login(name: string, password: string): Promise<ApiResult<PasswordStep>> {
  const r = await api<{ user: AuthUser } | { mfa_required: true; challenge: string }>('POST', '/api/auth/login', { name, password });
  if (!r.ok) return r;
  if ('mfa_required' in r.value) return { ok: true, value: { kind: 'mfa', challenge: r.value.challenge } };
  await loadMe();
  return { ok: true, value: { kind: 'session', user: r.value.user } };
}

/** The code step: the authenticator app's code (or a recovery code) for the challenge. */
export async function loginCode(challenge: string, code: string): Promise<ApiResult<AuthUser>> {
  const r = await api<{ user: AuthUser }>('POST', '/api/auth/login/mfa', { challenge, code });
  if (!r.ok) return r;
  await loadMe();
  return { ok: true, value: r.value.user };
}

/** Signs out (revokes the token server-side). */
export async function logout(): Promise<void> {
  await api('POST', '/api/auth/logout');
  current = undefined;
  mfa = undefined;
}

/** Whether `user` has one of `roles`. */
export function hasRole(user: AuthUser | undefined, ...roles: Role[]): boolean {
  return !!user && roles.includes(user.role);
}
