/**
 * What a gateway looked up about who may do what, kept for a short time: the rules the session-token
 * cache (session-cache.ts) and the machine-grant cache (grant-cache.ts) share, written once.
 * * Exact keys only; an entry lives at most `ttlMs` (and never past its own `notAfterMs`).
 * * `beginChange()`: an auth change starts in this process; everything is dropped and nothing is
 *   kept until its end is called (then dropped again: what was looked up meanwhile may predate it).
 * * A lookup that began before a change cannot put its (older) answer back afterwards (`generation`).
 * * At most `maxEntries`, oldest out first: many keys cannot grow memory past the bound.
 */

export const authCacheDefaults = { ttlMs: 1000, maxEntries: 10_000 } as const;

export interface AuthCacheOptions {
  /** How long an entry is trusted at most (ms); 0: nothing is kept. */
  ttlMs?: number;
  maxEntries?: number;
  /** The clock entries are judged by (tests); Date.now by default. */
  now?: () => number;
}

export interface AuthCache<V> {
  /** The live entry for this key (a copy), or undefined. */
  get(key: string): V | undefined;
  /** Read before a lookup and handed to `put`: a change begun or made since makes the put a no-op. */
  generation(): number;
  /** Keeps `value` until the TTL, or `notAfterMs` if sooner. */
  put(key: string, value: V, generation: number, notAfterMs?: number): void;
  /** An auth change starts in this process: drop everything, keep nothing until `end` is called. */
  beginChange(): () => void;
  readonly size: number;
}

export function createAuthCache<V>(o: AuthCacheOptions = {}, copy: (v: V) => V = (v) => v): AuthCache<V> {
  const ttlMs = o.ttlMs ?? authCacheDefaults.ttlMs;
  const maxEntries = o.maxEntries ?? authCacheDefaults.maxEntries;
  const now = o.now ?? Date.now;
  const entries = new Map<string, { value: V; untilMs: number }>();
  let gen = 0;
  let changing = 0;
  const clear = () => {
    gen++;
    entries.clear();
  };
  return {
    get(key) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (changing > 0 || !(now() < e.untilMs)) {
        entries.delete(key);
        return undefined;
      }
      return copy(e.value);
    },
    generation: () => gen,
    put(key, value, generation, notAfterMs = Number.POSITIVE_INFINITY) {
      if (ttlMs <= 0 || changing > 0 || generation !== gen) return;
      const untilMs = Math.min(now() + ttlMs, notAfterMs);
      if (!(untilMs > now())) return;
      entries.delete(key);
      // Oldest first out (a Map keeps insertion order).
      while (entries.size >= maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      entries.set(key, { value: copy(value), untilMs });
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
