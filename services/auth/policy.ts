/**
 * Who may do what: one table of actions and the roles allowed each, read by the HTTP route guard
 * (the auth plugin's requireRole), the REST routes, the viewer WebSocket and its backstage and
 * terminal handlers, so a role check cannot differ between two doors to the same action.
 */
import { ErrorCode } from '../../proto/errors.js';
import type { Role } from './roles.js';

/** Every guarded action and the roles that may take it. */
export const policyTable = {
  /** List machines (auditors too: they map the audit log's agent ids to host names). */
  'machines.list': ['admin', 'operator', 'viewer', 'auditor'],
  /** Open one machine's page, its sessions, and watch its screen. */
  'machines.read': ['admin', 'operator', 'viewer'],
  /** Send mouse and keyboard to a watched session. */
  'session.control': ['admin', 'operator'],
  'session.switch': ['admin', 'operator'],
  /** Backstage: commands, services, processes, system info and the interactive terminal. */
  backstage: ['admin'],
  'audit.read': ['admin', 'auditor'],
} as const satisfies Record<string, readonly Role[]>;

export type PolicyAction = keyof typeof policyTable;

/** What the caller is, as far as the policy cares. */
export interface PolicyActor {
  role: string;
}

/** What is known about the machine an action targets: whether the caller holds a grant for it. */
export interface PolicyMachine {
  granted: boolean;
}

export type PolicyDecision = { allowed: true } | { allowed: false; code: typeof ErrorCode.FORBIDDEN | typeof ErrorCode.MACHINE_NOT_FOUND; reason: string };

const ALLOWED: PolicyDecision = { allowed: true };

/** Whether `actor` may take `action` (on `machine`, when it targets one). A machine without a grant is not found, never forbidden. */
export function can(actor: PolicyActor, action: PolicyAction, machine?: PolicyMachine): PolicyDecision {
  const roles: readonly string[] = policyTable[action];
  if (!roles.includes(actor.role)) return { allowed: false, code: ErrorCode.FORBIDDEN, reason: `role ${actor.role || 'none'} may not ${action}; needs ${roles.join(' or ')}` };
  if (machine && !machine.granted) return { allowed: false, code: ErrorCode.MACHINE_NOT_FOUND, reason: 'no grant for this machine' };
  return ALLOWED;
}

/** Whether `s` names a policy action (action names have a dot or are not role names). */
export function isPolicyAction(s: string): s is PolicyAction {
  return Object.hasOwn(policyTable, s);
}

/** The roles allowed `action`, for messages that tell the caller whom to ask. */
export function rolesFor(action: PolicyAction): readonly Role[] {
  return policyTable[action];
}
