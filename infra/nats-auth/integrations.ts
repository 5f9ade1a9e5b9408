/**
 * Integrations: named, subscribe-only NATS identities in the readers' account, each scoped to the
 * agents and event kinds it was created for. Kept in `<auth dir>/integrations.json` (public keys and
 * scope only; the credentials go to the file the caller names and nowhere else).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { type AgentId, checkSubjectToken } from '../../proto/ids.js';
import { inboxes, integrationSubjects } from '../../proto/subjects.js';
import { readerKinds } from './permissions.js';
import { readIfExists, writeSecret } from './secret-files.js';
import type { NatsAuthSetup } from './setup.js';

export const integrationSchema = z.object({
  name: z.string(),
  userKey: z.string(),
  agents: z.union([z.literal('*'), z.array(z.string())]),
  events: z.array(z.string()),
  subjects: z.array(z.string()),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type Integration = z.infer<typeof integrationSchema>;

const registrySchema = z.array(integrationSchema);
const registryFile = (setup: Pick<NatsAuthSetup, 'dir'>) => join(setup.dir, 'integrations.json');

/** Every integration ever created, revoked ones included. */
export async function listIntegrations(setup: Pick<NatsAuthSetup, 'dir'>): Promise<Integration[]> {
  return registrySchema.parse(JSON.parse((await readIfExists(registryFile(setup))) ?? '[]'));
}

export interface IntegrationRequest {
  name: string;
  agents: AgentId[] | '*';
  events: string[];
}

/** Issues the credentials of a new integration; names are unique for good (a revoked name is not reused). */
export async function createIntegration(setup: NatsAuthSetup, req: IntegrationRequest): Promise<Result<{ integration: Integration; creds: string }>> {
  const name = checkSubjectToken(req.name, 'integration name');
  if (!name.ok) return name;
  if ((readerKinds as readonly string[]).includes(req.name.toLowerCase())) return err(ErrorCode.CONFLICT, `${req.name} is the name of a built-in identity; choose another`);
  if (req.events.length === 0) return err(ErrorCode.VALIDATION_FAILED, 'name at least one event with --events');
  const scope = integrationSubjects(req.agents, req.events);
  if (!scope.ok) return scope;
  const all = await listIntegrations(setup);
  if (all.some((i) => i.name === req.name)) return err(ErrorCode.CONFLICT, `an integration named ${req.name} exists already (see integrations list)`);
  const inbox = inboxes.reader(`i-${req.name}`);
  // Subscribe-only: it may hear its subjects and nothing else, and publish nothing at all.
  const { creds, userKey } = await setup.issueReaderCreds(`integration-${req.name}`, {
    pub: { allow: [], deny: ['>'] },
    sub: { allow: [...scope.value, `${inbox}.>`] },
  });
  const integration: Integration = { name: req.name, userKey, agents: req.agents, events: req.events, subjects: scope.value, createdAt: new Date().toISOString(), revokedAt: null };
  await writeSecret(registryFile(setup), `${JSON.stringify([...all, integration], null, 1)}\n`);
  return ok({ integration, creds });
}

/** Revokes an integration: its user key joins the account's revocations, pushed to the running servers. */
export async function revokeIntegration(setup: NatsAuthSetup, name: string, servers: string | string[]): Promise<Result<Integration>> {
  const all = await listIntegrations(setup);
  const found = all.find((i) => i.name === name);
  if (!found) return err(ErrorCode.NOT_FOUND, `no integration named ${name} (see integrations list)`);
  if (found.revokedAt) return err(ErrorCode.CONFLICT, `integration ${name} was revoked at ${found.revokedAt}`);
  const pushed = await setup.revokeReaderKeys([found.userKey], servers);
  found.revokedAt = new Date().toISOString();
  await writeSecret(registryFile(setup), `${JSON.stringify(all, null, 1)}\n`);
  return pushed.ok ? ok(found) : pushed;
}
