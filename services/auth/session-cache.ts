/**
 * Session tokens resolved recently, kept for a short time (issue 18: the token lookup was a
 * database round trip on every request, about 1 ms of a command's 8-10 ms under load). What keeps
 * it honest:
 * * Keyed by the token's full hash (the secret itself is never held), so only the exact token
 *   finds an entry: no prefix, no token id, no user id can borrow another's identity.
 * * An entry lives at most `ttlMs` and never past the token's expiry on the same clock.
 * * Every change this process makes to who may do what (logout, revocation, grants, second factor,
 *   users, API tokens: any auth route that is not a read) empties the cache before it answers and
 *   stops keeping new entries while it runs (`mutating`): the next request after a logout here asks
 *   the database.
 * * A change made elsewhere (another gateway, the CLI, SQL by hand) is not heard: it takes effect
 *   here within `ttlMs` (default 1 s, GC_AUTH_CACHE_MS; 0 turns the cache off).
 * * A lookup that began before a change cannot put its (older) answer back afterwards (`generation`).
 */
import { type AuthCacheOptions, authCacheDefaults, createAuthCache } from './auth-cache.js';
import type { AuthUser } from './roles.js';

export const sessionCacheDefaults = authCacheDefaults;

/** What a session token resolves to (tokens.ts resolveTokenHash). */
export interface ResolvedSession {
  user: AuthUser;
  tokenId: string;
  mfaEnabled: boolean;
  expiresAt: Date;
}

export type SessionCacheOptions = AuthCacheOptions;

export interface SessionCache {
  /** A copy of the live entry for this token hash, or undefined. */
  get(tokenHash: string): ResolvedSession | undefined;
  /** Read before a lookup and handed to `put`: a change begun or made since makes the put a no-op. */
  generation(): number;
  put(tokenHash: string, value: ResolvedSession, generation: number): void;
  /** An auth change starts in this process: drop everything, keep nothing until `end` is called. */
  beginChange(): () => void;
  readonly size: number;
}

const copy = (v: ResolvedSession): ResolvedSession => ({ ...v, user: { ...v.user } });

/** The rules of auth-cache.ts, with the token's expiry as every entry's last moment. */
export function createSessionCache(o: SessionCacheOptions = {}): SessionCache {
  const cache = createAuthCache<ResolvedSession>(o, copy);
  return {
    get: (tokenHash) => cache.get(tokenHash),
    generation: () => cache.generation(),
    put: (tokenHash, value, generation) => cache.put(tokenHash, value, generation, value.expiresAt.getTime()),
    beginChange: () => cache.beginChange(),
    get size() {
      return cache.size;
    },
  };
}
