/** Technician accounts and machine grants in Postgres. */
import type { Kysely } from 'kysely';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { checkSubjectToken } from '../../proto/ids.js';
import { pgText } from '../../infra/db/pg-safe.js';
import type { Database } from '../../infra/db/schema.js';
import { executePrepared } from '../../infra/db/connect.js';
import { hashPassword } from './password.js';
import { ALL_MACHINES, type AuthUser, type Role, roleSchema, userNameSchema } from './roles.js';

export const MIN_PASSWORD_LENGTH = 10;

/**
 * Creates a technician, or with `service` a service account: no password (it can never sign in with
 * one), only API tokens. CONFLICT when the name is taken.
 */
export async function createUser(db: Kysely<Database>, input: { name: string; role: Role; password: string } | { name: string; role: Role; service: true }): Promise<Result<AuthUser>> {
  const name = userNameSchema.safeParse(input.name);
  if (!name.success) return err(ErrorCode.VALIDATION_FAILED, `user name: ${name.error.issues[0]?.message ?? 'invalid'}`);
  const role = roleSchema.safeParse(input.role);
  if (!role.success) return err(ErrorCode.VALIDATION_FAILED, `role must be one of ${roleSchema.options.join(', ')}`);
  const service = 'service' in input;
  if (!service && input.password.length < MIN_PASSWORD_LENGTH) return err(ErrorCode.VALIDATION_FAILED, `password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  const row = await db
    .insertInto('users')
    .values({ name: name.data, role: role.data, service, password_hash: service ? null : await hashPassword(input.password) })
    .onConflict((c) => c.column('name').doNothing())
    .returning(['id', 'name', 'role'])
    .executeTakeFirst();
  if (!row) return err(ErrorCode.CONFLICT, `a user named ${name.data} already exists`);
  return ok({ id: row.id, name: row.name, role: role.data });
}

/** The user with this name, as the gateway sees it, or undefined. */
export async function findUserByName(db: Kysely<Database>, name: string): Promise<AuthUser | undefined> {
  const row = await db.selectFrom('users').select(['id', 'name', 'role']).where('name', '=', pgText(name)).executeTakeFirst();
  return row ? { id: row.id, name: row.name, role: roleSchema.parse(row.role) } : undefined;
}

/** Grants a technician access to one machine or to all ('*'); repeating a grant is a no-op. */
export async function grantMachine(db: Kysely<Database>, userId: string, agentId: string): Promise<Result<{ user_id: string; agent_id: string }>> {
  if (agentId !== ALL_MACHINES) {
    const id = checkSubjectToken(agentId, 'agent id');
    if (!id.ok) return id;
  }
  const user = await db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst();
  if (!user) return err(ErrorCode.NOT_FOUND, `no user with id ${userId}`);
  await db
    .insertInto('machine_grants')
    .values({ user_id: userId, agent_id: agentId })
    .onConflict((c) => c.doNothing())
    .execute();
  return ok({ user_id: userId, agent_id: agentId });
}

/** Removes a grant; NOT_FOUND when there was none. */
export async function revokeGrant(db: Kysely<Database>, userId: string, agentId: string): Promise<Result<void>> {
  const r = await db.deleteFrom('machine_grants').where('user_id', '=', userId).where('agent_id', '=', agentId).executeTakeFirst();
  return r.numDeletedRows > 0n ? ok(undefined) : err(ErrorCode.NOT_FOUND, `user ${userId} has no grant for ${agentId}`);
}

/** '*' when the user reaches every machine (admins, or a '*' grant), else the granted agent ids. */
export async function accessibleMachines(db: Kysely<Database>, user: AuthUser): Promise<typeof ALL_MACHINES | string[]> {
  if (user.role === 'admin') return ALL_MACHINES;
  const rows = await db.selectFrom('machine_grants').select('agent_id').where('user_id', '=', user.id).execute();
  const ids = rows.map((r) => r.agent_id);
  return ids.includes(ALL_MACHINES) ? ALL_MACHINES : ids.sort();
}

/** Whether `user` may reach the machine `agentId` (admins always; others through a grant). */
export async function canAccessMachine(db: Kysely<Database>, user: AuthUser, agentId: string): Promise<boolean> {
  if (user.role === 'admin') return true;
  // Asked on every command and viewer of a non-admin: a prepared statement (tokens.ts resolveTokenHash).
  const query = db.selectFrom('machine_grants').select('agent_id').where('user_id', '=', user.id).where('agent_id', 'in', [agentId, ALL_MACHINES]).limit(1).compile();
  const rows = await executePrepared(db, 'gc_can_access_machine', query);
  return rows.length > 0;
}
