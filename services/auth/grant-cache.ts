/**
 * Machine grants looked up recently (issue 18: an operator's command or viewer switch asked
 * Postgres for their grant every time, about 1.2 ms of a switch's 8-9 ms on the 2-core box). Its
 * rules are the session cache's (auth-cache.ts), the same bound and the same invalidation:
 * * Keyed by the user's id, their role and the machine's id, exactly (JSON, so no id can be spelt
 *   to read as another pair): one machine's grant answers nothing about another, one user's nothing
 *   about another's. A refusal is kept as well as an allowance, under the same rules.
 * * Every auth change made through this process (grants, revocations, users: any auth route that is
 *   not a read) empties it before it answers, so a revoked grant is refused by the very next request.
 * * A change made elsewhere (another gateway, the CLI, SQL) takes effect here within `ttlMs`
 *   (GC_AUTH_CACHE_MS, default 1 s; 0 turns it off).
 * Admins reach every machine by role and are never looked up, so never kept.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { type AuthCache, type AuthCacheOptions, createAuthCache } from './auth-cache.js';
import type { AuthUser } from './roles.js';
import { canAccessMachine } from './users.js';

/** Machine ids longer than this are looked up every time, never kept (the API refuses them anyway). */
const MAX_CACHED_ID = 256;

export type GrantCache = AuthCache<boolean>;

export const createGrantCache = (o: AuthCacheOptions = {}): GrantCache => createAuthCache<boolean>(o);

/** canAccessMachine (users.ts) answered from `cache` when it can, its answer kept otherwise. */
export async function cachedCanAccessMachine(db: Kysely<Database>, cache: GrantCache | undefined, user: AuthUser, agentId: string): Promise<boolean> {
  if (!cache || user.role === 'admin' || agentId.length > MAX_CACHED_ID) return canAccessMachine(db, user, agentId);
  const key = JSON.stringify([user.id, user.role, agentId]);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const generation = cache.generation();
  const allowed = await canAccessMachine(db, user, agentId);
  cache.put(key, allowed, generation);
  return allowed;
}
