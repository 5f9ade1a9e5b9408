/**
 * Agent enrollment: an installer presents an enrollment key and gets the agent's own NATS
 * credentials; an admin can revoke an agent, which cuts it off the bus at once.
 */
import { pgText } from '../../infra/db/pg-safe.js';
import type { Kysely } from 'kysely';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { checkSubjectToken } from '../../proto/ids.js';
import type { Database } from '../../infra/db/schema.js';
import type { NatsAuthSetup } from '../../infra/nats-auth/setup.js';
import { hashSecret, newSecret } from './secrets.js';

/** The part of the NATS auth setup enrollment needs (infra/nats-auth/setup.ts implements it). */
export type AgentCredentialIssuer = Pick<NatsAuthSetup, 'issueAgentCreds' | 'revokeAgent' | 'natsCaPem'>;

export const enrollmentDefaults = { ttlMs: 7 * 24 * 3600_000 } as const;

/** Creates an enrollment key; the clear key is returned once and only its hash is stored. */
export async function createEnrollmentKey(
  db: Kysely<Database>,
  o: { site?: string; reusable?: boolean; ttlMs?: number; createdBy?: string },
): Promise<{ id: string; key: string; expiresAt: Date; site: string; reusable: boolean }> {
  const key = newSecret('gce');
  const expiresAt = new Date(Date.now() + (o.ttlMs ?? enrollmentDefaults.ttlMs));
  const site = o.site ?? '';
  const reusable = o.reusable ?? false;
  const row = await db
    .insertInto('enrollment_keys')
    .values({ key_hash: hashSecret(key), site, reusable, expires_at: expiresAt, revoked_at: null, created_by: o.createdBy ?? null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, key, expiresAt, site, reusable };
}

/** Revokes an enrollment key; agents already enrolled with it keep their credentials. */
export async function revokeEnrollmentKey(db: Kysely<Database>, id: string): Promise<Result<void>> {
  const r = await db.updateTable('enrollment_keys').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return r.numUpdatedRows > 0n ? ok(undefined) : err(ErrorCode.NOT_FOUND, `no live enrollment key with id ${id}`);
}

export interface EnrollRequest {
  enrollment_key: string;
  agent_id: string;
  hostname: string;
}

/**
 * Enrolls an agent: consumes the key and issues NATS creds scoped to this agent id, with the CA of
 * this deployment's NATS servers (the agent trusts exactly them; absent on a plain-text dev server).
 */
export async function enrollAgent(
  db: Kysely<Database>,
  issuer: AgentCredentialIssuer,
  req: EnrollRequest,
): Promise<Result<{ agent_id: string; creds: string; site: string; nats_ca: string | undefined }>> {
  const id = checkSubjectToken(req.agent_id, 'agent id');
  if (!id.ok) return id;
  const invalid = err(ErrorCode.UNAUTHENTICATED, 'enrollment key is unknown, expired, already used or revoked');
  return db.transaction().execute(async (tx) => {
    // Row lock: two installers racing on one single-use key cannot both win.
    const key = await tx.selectFrom('enrollment_keys').selectAll().where('key_hash', '=', hashSecret(req.enrollment_key)).forUpdate().executeTakeFirst();
    if (!key || key.revoked_at || key.expires_at <= new Date() || (!key.reusable && key.uses > 0)) return invalid;
    // An id is enrolled once: re-enrolling would let a key holder take over another machine's identity.
    const existing = await tx.selectFrom('agents').select(['agent_id', 'revoked_at']).where('agent_id', '=', id.value).forUpdate().executeTakeFirst();
    if (existing) {
      return err(
        ErrorCode.CONFLICT,
        existing.revoked_at ? `agent id ${id.value} was revoked; enroll the machine under a new agent id` : `agent id ${id.value} is already enrolled; revoke it first to re-enroll`,
      );
    }
    const issued = await issuer.issueAgentCreds(id.value);
    if (!issued.ok) return issued;
    await tx
      .insertInto('agents')
      .values({
        agent_id: id.value,
        hostname: pgText(req.hostname),
        site: key.site,
        nats_user_key: issued.value.userKey,
        enrollment_key_id: key.id,
        revoked_at: null,
      })
      .execute();
    await tx
      .updateTable('enrollment_keys')
      .set((eb) => ({ uses: eb('uses', '+', 1) }))
      .where('id', '=', key.id)
      .execute();
    return ok({ agent_id: id.value, creds: issued.value.creds, site: key.site, nats_ca: issuer.natsCaPem() });
  });
}

/** Revokes an agent: marks it in Postgres and revokes its NATS users on the running servers. */
export async function revokeEnrolledAgent(db: Kysely<Database>, issuer: AgentCredentialIssuer, agentId: string, servers: string | string[]): Promise<Result<{ revokedKeys: string[] }>> {
  const id = checkSubjectToken(agentId, 'agent id');
  if (!id.ok) return id;
  const row = await db.updateTable('agents').set({ revoked_at: new Date() }).where('agent_id', '=', id.value).where('revoked_at', 'is', null).returning('agent_id').executeTakeFirst();
  const nats = await issuer.revokeAgent(id.value, servers);
  if (!nats.ok && nats.error.code === ErrorCode.NOT_FOUND && !row) return err(ErrorCode.NOT_FOUND, `agent ${id.value} is not enrolled or already revoked`);
  return nats;
}
