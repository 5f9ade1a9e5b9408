/**
 * Issuing agents' NATS credentials, one or many at a time, under the identity registry's rules: an id
 * gets credentials once (`<dir>/agents/<id>.keys` lists every user key it was ever given), service
 * names are reserved, and an id is re-keyed only when the caller says so (`reissue`).
 *
 * What was slow at 10,000 agents was not signing (node:crypto, microseconds) but deriving each new
 * user's public key in nkeys' pure JavaScript (~6 ms) and issuing strictly one agent after another.
 * A batch now takes the registry lock once and reads, signs and writes with bounded concurrency.
 */
import { join } from 'node:path';
import type { KeyPair, Permissions } from '@nats-io/jwt';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { checkSubjectToken } from '../../proto/ids.js';
import { agentPermissions, serviceKinds } from './permissions.js';
import { ensurePrivateDir, readIfExists, writeSecret } from './secret-files.js';

export interface IssuedAgentCreds {
  creds: string;
  userKey: string;
}

export interface IssueOptions {
  /** Re-key ids that already hold credentials (the old keys stay listed for revocation). */
  reissue?: boolean;
}

/**
 * Agent ids that can never be enrolled: the service identities and names an operator would read as
 * ours. Compared case-insensitively.
 */
export const reservedAgentIds: readonly string[] = [...serviceKinds, 'system', 'sys', 'gc', 'guruconnect', 'readers', 'integration', 'integrations', 'admin', 'root'];

/** Files read, signed and written at once within a batch: enough to hide file-system latency, few enough for any fd limit. */
export const ISSUE_CONCURRENCY = 64;

export interface AgentCredsDeps {
  /** The auth directory; keys files live in `<dir>/agents`. */
  dir: string;
  newUserKey(): KeyPair;
  /** Signs a user of the application account. */
  userCreds(name: string, perms: Permissions, kp: KeyPair): Promise<string>;
  /** Runs `fn` while no other registry change (issue, revoke) runs in this process. */
  serial<T>(fn: () => Promise<T>): Promise<T>;
}

/** Checks one id against the rules that need no file: a subject token, not reserved. */
export function checkIssuableAgentId(agentId: string): Result<string> {
  const id = checkSubjectToken(agentId, 'agent id');
  if (!id.ok) return id;
  if (reservedAgentIds.includes(agentId.toLowerCase())) return err(ErrorCode.CONFLICT, `agent id ${agentId} is reserved for a GuruConnect service; choose another id`);
  return id;
}

/** Maps `items` through `fn` with at most `limit` running at once; results keep their order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Issues credentials to every id in `agentIds`: one result per id, in order. A bad, reserved or
 * already-enrolled id (without `reissue`), or an id named twice in the batch, fails alone with its
 * code; the others are issued.
 */
export function issueAgentCredsBatch(deps: AgentCredsDeps, agentIds: readonly string[], o: IssueOptions = {}): Promise<Result<IssuedAgentCreds>[]> {
  const seen = new Set<string>();
  const checked = agentIds.map((id): Result<string> => {
    const c = checkIssuableAgentId(id);
    if (!c.ok) return c;
    if (seen.has(id)) return err(ErrorCode.CONFLICT, `agent id ${id} is named twice in one batch; an id gets one set of credentials`);
    seen.add(id);
    return c;
  });
  const agentsDir = join(deps.dir, 'agents');
  return deps.serial(async () => {
    if (checked.some((c) => c.ok)) await ensurePrivateDir(agentsDir);
    return mapLimited(checked, ISSUE_CONCURRENCY, async (c): Promise<Result<IssuedAgentCreds>> => {
      if (!c.ok) return c;
      const agentId = c.value;
      const keysFile = join(agentsDir, `${agentId}.keys`);
      // One id's file-system failure is that id's result. Thrown, it rejected the whole batch: the
      // ids already issued in it were on file but their credentials never reached the caller (a
      // CONFLICT on the next try), and the registry lock was released while writes still ran.
      try {
        const known = (await readIfExists(keysFile)) ?? '';
        if (known.trim() && !o.reissue) {
          return err(ErrorCode.CONFLICT, `agent id ${agentId} already has credentials; revoke it first, or enroll this machine under another id`);
        }
        const kp = deps.newUserKey();
        const creds = await deps.userCreds(`agent-${agentId}`, agentPermissions(agentId), kp);
        // The key is on file before the credentials leave: a revocation can always find it.
        await writeSecret(keysFile, `${known}${kp.getPublicKey()}\n`, { dirReady: true });
        return ok({ creds, userKey: kp.getPublicKey() });
      } catch (e) {
        return err(ErrorCode.INTERNAL, `could not issue credentials to agent id ${agentId} (${(e as Error).message}); nothing was issued to it, retry once the cause is fixed`);
      }
    });
  });
}
