/**
 * The service list served from memory, kept fresh by the agent, with its age in every answer.
 *
 * Why a cache: asking the service manager costs a spawn or three (systemctl, or `service
 * --status-all`, which runs every init script) — tens to hundreds of ms — while the list changes
 * rarely. Why not a refresh forever: 10,000 idle agents should not fork every few seconds for a list
 * nobody reads. So: the first request reads; while someone asks (within `keepWarmMs`) a timer
 * re-reads every `refreshEveryMs`; a request finding the list older than `freshMs` is answered at
 * once and starts a re-read, so the next one is newer; older than `maxAgeMs` (after an idle spell)
 * or invalidated by a start/stop through the agent, the request waits for a fresh read. The age lets
 * the UI say how fresh the list is; a change made behind the agent's back shows within one refresh.
 */
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import type { ServiceList } from './port.js';

export const servicesCacheDefaults = { freshMs: 1000, refreshEveryMs: 10_000, keepWarmMs: 120_000, maxAgeMs: 30_000 };

export interface ServicesCache {
  /** The list with `ageMs`: from memory when young enough, else read first. */
  list(): Promise<Result<ServiceList>>;
  /** A change was made (service started or stopped): the next list waits for a read begun after it. */
  invalidate(): void;
  /** Stops the keep-warm timer. */
  close(): void;
}

export function createServicesCache(read: () => Promise<Result<ServiceList>>, opts: Partial<typeof servicesCacheDefaults> & { now?: () => number } = {}): ServicesCache {
  const o = { ...servicesCacheDefaults, ...opts };
  const now = opts.now ?? (() => performance.now());
  let value: ServiceList | undefined;
  let takenAt = 0;
  // Invalidation generation: a read counts as current only if it began at or after the latest invalidate().
  let gen = 0;
  let valueGen = -1;
  let inflight: { gen: number; done: Promise<Result<ServiceList>> } | undefined;
  let lastAsked = Number.NEGATIVE_INFINITY;
  let timer: ReturnType<typeof setInterval> | undefined;

  const refresh = (): Promise<Result<ServiceList>> => {
    if (inflight && inflight.gen === gen) return inflight.done;
    const startGen = gen;
    // The age counts from when the read began: the list cannot be newer than that.
    const startedAt = now();
    let reading: Promise<Result<ServiceList>>;
    try {
      reading = read();
    } catch (e) {
      // A reader that throws before returning its promise is a failed read too.
      reading = Promise.reject(e);
    }
    const done: Promise<Result<ServiceList>> = reading
      .catch((e: unknown) => err(ErrorCode.PLATFORM_ERROR, `could not list services: ${String(e)}`))
      .then((r) => {
        // A read begun before an invalidation, finishing after a newer one, must not overwrite it.
        if (r.ok && startGen >= valueGen) {
          value = r.value;
          takenAt = startedAt;
          valueGen = startGen;
        }
        if (inflight?.done === done) inflight = undefined;
        return r;
      });
    inflight = { gen: startGen, done };
    return done;
  };

  const keepWarm = () => {
    if (timer) return;
    timer = setInterval(() => {
      if (now() - lastAsked > o.keepWarmMs) {
        clearInterval(timer);
        timer = undefined;
        return;
      }
      void refresh();
    }, o.refreshEveryMs);
    // A warm cache is no reason to keep the agent process alive.
    timer.unref?.();
  };

  return {
    async list() {
      lastAsked = now();
      keepWarm();
      if (!value || valueGen < gen || now() - takenAt > o.maxAgeMs) {
        const r = await refresh();
        // A failed read is reported, never hidden behind an old list that is too old to serve.
        if (!r.ok) return r;
      } else if (now() - takenAt > o.freshMs) {
        void refresh();
      }
      return ok({ ...(value as ServiceList), ageMs: Math.max(0, Math.round(now() - takenAt)) });
    },
    invalidate() {
      gen++;
      if (value) void refresh();
    },
    close() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
