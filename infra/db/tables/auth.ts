/** Technicians, tokens, machine access, agents and enrollment keys (issue 6, migration 0003; API tokens and service accounts: 0006; second factor: 0007). */
import type { ColumnType, Generated } from 'kysely';
import type { Timestamp } from './columns.js';

export interface UsersTable {
  id: Generated<string>;
  name: string;
  /** `scrypt$N$r$p$salt$hash` (base64); never a plain password. Null exactly for service accounts. */
  password_hash: string | null;
  /** One of services/auth/roles.ts `roleSchema` (a CHECK constraint enforces it too). */
  role: string;
  disabled: Generated<boolean>;
  /** Consecutive failed logins since the last success or lockout. */
  failed_logins: Generated<number>;
  locked_until: Timestamp | null;
  created_at: Generated<Timestamp>;
  /** A service account: no password, signs in only with API tokens (a CHECK ties it to password_hash). */
  service: Generated<boolean>;
}

/** Opaque session tokens: only sha256(token) is stored, so a database leak yields no usable token. */
export interface AuthTokensTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  created_at: Generated<Timestamp>;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  created_ip: string | null;
}

/** Named API tokens for automation (`gca_…`): only sha256(token) is stored; no expiry when expires_at is null. */
export interface ApiTokensTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  token_hash: string;
  created_by: string | null;
  /** Generated<Timestamp> would select as the nested ColumnType, not Date. */
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  expires_at: Timestamp | null;
  /** Written at most about once a minute per token, so a busy script does not write on every request. */
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

/** Which machines a technician may reach: an agent id, or '*' for all. */
export interface MachineGrantsTable {
  user_id: string;
  agent_id: string;
  created_at: Generated<Timestamp>;
}

/** Keys an installer presents to enroll an agent: stored hashed, per site, expiring, revocable. */
export interface EnrollmentKeysTable {
  id: Generated<string>;
  key_hash: string;
  site: string;
  reusable: boolean;
  uses: Generated<number>;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  created_by: string | null;
  created_at: Generated<Timestamp>;
}

/** Enrolled agents and the NATS user key issued to each (the identity NATS revocation targets). */
export interface AgentsTable {
  agent_id: string;
  hostname: string;
  site: string;
  nats_user_key: string;
  enrollment_key_id: string | null;
  enrolled_at: Generated<Timestamp>;
  revoked_at: Timestamp | null;
}

/** A technician's TOTP factor (RFC 6238): the secret is never returned after set-up. */
export interface UserMfaTable {
  user_id: string;
  /** Base32 secret. */
  secret: string;
  /** Null while set-up is begun but not confirmed with a code. */
  confirmed_at: Timestamp | null;
  /** The last accepted time step (bigint; kysely reads it as a string): no code of it or before is accepted again. */
  last_step: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  created_at: Generated<Timestamp>;
}

/** Single-use recovery codes, stored as sha256 only. */
export interface MfaRecoveryCodesTable {
  id: Generated<string>;
  user_id: string;
  code_hash: string;
  used_at: Timestamp | null;
}

/** Between password and code: a short-lived, single-use challenge (`gcm_…`, stored as sha256), never a session. */
export interface MfaChallengesTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  created_at: Generated<Timestamp>;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_ip: string | null;
}

export interface AuthTables {
  users: UsersTable;
  auth_tokens: AuthTokensTable;
  api_tokens: ApiTokensTable;
  machine_grants: MachineGrantsTable;
  enrollment_keys: EnrollmentKeysTable;
  agents: AgentsTable;
  user_mfa: UserMfaTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
}
