/** A fixed-window counter per key (IP address, user name), in memory and bounded in size. */

export interface RateLimit {
  max: number;
  windowMs: number;
}

export interface RateLimiter {
  /** Counts one attempt for `key`; returns 0 when allowed, else milliseconds until the window resets. */
  hit(key: string): number;
  reset(key: string): void;
}

/** Creates a limiter; `now` is injectable so unit tests need no clock. */
export function createRateLimiter(limit: RateLimit, now: () => number = Date.now, maxKeys = 100_000): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    hit(key) {
      const t = now();
      let w = windows.get(key);
      if (!w || t - w.start >= limit.windowMs) {
        // Oldest entries go first (Map keeps insertion order), so a flood of keys cannot grow memory.
        if (!w && windows.size >= maxKeys) {
          const oldest = windows.keys().next().value;
          if (oldest !== undefined) windows.delete(oldest);
        }
        w = { start: t, count: 0 };
        windows.delete(key);
        windows.set(key, w);
      }
      w.count += 1;
      return w.count > limit.max ? Math.max(1, limit.windowMs - (t - w.start)) : 0;
    },
    reset(key) {
      windows.delete(key);
    },
  };
}
