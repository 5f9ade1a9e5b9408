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
import type { AuthUser } from './roles.js';

export const sessionCacheDefaults = { ttlMs: 1000, maxEntries: 10_000 } as const;

/** What a session token resolves to (tokens.ts resolveTokenHash). */
export interface ResolvedSession {
  user: AuthUser;
  tokenId: string;
  mfaEnabled: boolean;
  expiresAt: Date;
}

export interface SessionCacheOptions {
  /** How long an entry is trusted at most (ms); 0: nothing is kept. */
  ttlMs?: number;
  maxEntries?: number;
  /** The clock entries are judged by (tests); Date.now by default. */
  now?: () => number;
}

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

export function createSessionCache(o: SessionCacheOptions = {}): SessionCache {
  const ttlMs = o.ttlMs ?? sessionCacheDefaults.ttlMs;
  const maxEntries = o.maxEntries ?? sessionCacheDefaults.maxEntries;
  const now = o.now ?? Date.now;
  const entries = new Map<string, { value: ResolvedSession; untilMs: number }>();
  let gen = 0;
  let changing = 0;
  const clear = () => {
    gen++;
    entries.clear();
  };
  return {
    get(tokenHash) {
      const e = entries.get(tokenHash);
      if (!e) return undefined;
      if (changing > 0 || !(now() < e.untilMs)) {
        entries.delete(tokenHash);
        return undefined;
      }
      return copy(e.value);
    },
    generation: () => gen,
    put(tokenHash, value, generation) {
      if (ttlMs <= 0 || changing > 0 || generation !== gen) return;
      const untilMs = Math.min(now() + ttlMs, value.expiresAt.getTime());
      if (!(untilMs > now())) return;
      entries.delete(tokenHash);
      // Oldest first out (a Map keeps insertion order): many tokens cannot grow memory past the bound.
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      entries.set(tokenHash, { value: copy(value), untilMs });
    },
    beginChange() {
      changing++;
      clear();
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        changing--;
        // What was looked up while the change ran may predate its commit.
        clear();
      };
    },
    get size() {
      return entries.size;
    },
  };
}
