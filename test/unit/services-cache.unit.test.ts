/** The agent's service-list cache: served from memory with its age, single-flight, invalidation, failures, keep-warm. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ServicesCache, createServicesCache } from '../../agent/platform/services-cache.js';
import type { ServiceList } from '../../agent/platform/port.js';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';

/** A service manager whose every read the test answers by hand, and a clock it moves by hand. */
function harness(opts: { freshMs?: number; maxAgeMs?: number; refreshEveryMs?: number; keepWarmMs?: number } = {}) {
  let clock = 1_000_000;
  const reads: { resolve: (r: Result<ServiceList>) => void; reject: (e: unknown) => void }[] = [];
  const cache = createServicesCache(
    () =>
      new Promise<Result<ServiceList>>((resolve, reject) => {
        reads.push({ resolve, reject });
      }),
    { freshMs: 1000, maxAgeMs: 30_000, refreshEveryMs: 3_600_000, keepWarmMs: 120_000, ...opts, now: () => clock },
  );
  const list = (name: string): Result<ServiceList> => ok({ available: true, unavailableReason: '', services: [{ name, displayName: name, status: 0, startupType: 'enabled', pid: 0 }] });
  const names = (r: Result<ServiceList>) => (r.ok ? r.value.services?.map((s) => s.name) : r.error.code);
  const flush = () => new Promise((r) => setImmediate(r));
  return {
    cache,
    reads,
    list,
    names,
    flush,
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

async function firstList(h: ReturnType<typeof harness>, name = 'a'): Promise<void> {
  const p = h.cache.list();
  await h.flush();
  h.reads[0]?.resolve(h.list(name));
  assert.deepEqual(h.names(await p), [name]);
}

const done = (c: ServicesCache) => c.close();

test('the first list waits for a read; the next ones come from memory with their age', async () => {
  const h = harness();
  await firstList(h);
  h.tick(400);
  const r = await h.cache.list();
  assert.ok(r.ok);
  assert.equal(r.value.ageMs, 400);
  assert.deepEqual(h.names(r), ['a']);
  assert.equal(h.reads.length, 1);
  done(h.cache);
});

test('concurrent first lists share one read', async () => {
  const h = harness();
  const [p1, p2] = [h.cache.list(), h.cache.list()];
  await h.flush();
  assert.equal(h.reads.length, 1);
  h.reads[0]?.resolve(h.list('a'));
  assert.deepEqual([h.names(await p1), h.names(await p2)], [['a'], ['a']]);
  done(h.cache);
});

test('older than freshMs: answered at once from memory, and a read starts so the next answer is newer', async () => {
  const h = harness();
  await firstList(h);
  h.tick(5000);
  const r = await h.cache.list();
  assert.deepEqual(h.names(r), ['a']);
  assert.equal(r.ok && r.value.ageMs, 5000);
  assert.equal(h.reads.length, 2);
  h.reads[1]?.resolve(h.list('b'));
  await h.flush();
  const next = await h.cache.list();
  assert.deepEqual(h.names(next), ['b']);
  assert.equal(next.ok && next.value.ageMs, 0);
  done(h.cache);
});

test('older than maxAgeMs (after an idle spell): the list waits for a fresh read', async () => {
  const h = harness();
  await firstList(h);
  h.tick(31_000);
  const p = h.cache.list();
  await h.flush();
  assert.equal(h.reads.length, 2);
  h.reads[1]?.resolve(h.list('c'));
  assert.deepEqual(h.names(await p), ['c']);
  done(h.cache);
});

test('after invalidate() the list waits for a read begun after it; an older read finishing late does not count', async () => {
  const h = harness();
  await firstList(h);
  h.tick(2000);
  // A background re-read starts (the list is past freshMs) ...
  await h.cache.list();
  assert.equal(h.reads.length, 2);
  // ... then a service is stopped through the agent.
  h.cache.invalidate();
  assert.equal(h.reads.length, 3);
  const p = h.cache.list();
  // The re-read begun before the stop answers after it with the old state: not what the list waits for.
  h.reads[1]?.resolve(h.list('before-stop'));
  await h.flush();
  h.reads[2]?.resolve(h.list('after-stop'));
  assert.deepEqual(h.names(await p), ['after-stop']);
  assert.deepEqual(h.names(await h.cache.list()), ['after-stop']);
  done(h.cache);
});

test('a late read from before an invalidation never overwrites a newer list', async () => {
  const h = harness();
  await firstList(h);
  h.tick(2000);
  await h.cache.list();
  h.cache.invalidate();
  h.reads[2]?.resolve(h.list('new'));
  await h.flush();
  h.reads[1]?.resolve(h.list('old'));
  await h.flush();
  assert.deepEqual(h.names(await h.cache.list()), ['new']);
  done(h.cache);
});

test('a failed or throwing read is reported, not cached; the next list reads again', async () => {
  const h = harness();
  const p1 = h.cache.list();
  await h.flush();
  h.reads[0]?.resolve(err(ErrorCode.PLATFORM_ERROR, 'systemctl failed'));
  assert.equal(h.names(await p1), ErrorCode.PLATFORM_ERROR);
  const p2 = h.cache.list();
  await h.flush();
  h.reads[1]?.reject(new Error('spawn EAGAIN'));
  const r2 = await p2;
  assert.ok(!r2.ok && /EAGAIN/.test(r2.error.message));
  const p3 = h.cache.list();
  await h.flush();
  assert.equal(h.reads.length, 3);
  h.reads[2]?.resolve(h.list('ok'));
  assert.deepEqual(h.names(await p3), ['ok']);
  done(h.cache);
});

test('a failed background read keeps the old list, with its growing age', async () => {
  const h = harness();
  await firstList(h);
  h.tick(2000);
  await h.cache.list();
  h.reads[1]?.resolve(err(ErrorCode.PLATFORM_ERROR, 'busy'));
  await h.flush();
  h.tick(500);
  const r = await h.cache.list();
  assert.deepEqual(h.names(r), ['a']);
  assert.equal(r.ok && r.value.ageMs, 2500);
  done(h.cache);
});

test('while someone asks, a timer keeps the list fresh; once nobody asked for keepWarmMs, it stops', async () => {
  const h = harness({ refreshEveryMs: 5, keepWarmMs: 60_000 });
  await firstList(h);
  // Answer every timer read as it comes, until three came without any list() call.
  while (h.reads.length < 4) {
    await new Promise((r) => setTimeout(r, 5));
    for (const x of h.reads) x.resolve(h.list('warm'));
  }
  assert.deepEqual(h.names(await h.cache.list()), ['warm']);
  h.tick(61_000);
  // The next tick sees nobody asked for a minute and stops; wait well past a few intervals.
  await new Promise((r) => setTimeout(r, 50));
  const settled = h.reads.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.reads.length, settled);
  done(h.cache);
});

test('a reader that throws before returning a promise is a failed read, not a crash', async () => {
  const cache = createServicesCache(() => {
    throw new Error('EMFILE');
  });
  const r = await cache.list();
  assert.ok(!r.ok && r.error.code === ErrorCode.PLATFORM_ERROR && /EMFILE/.test(r.error.message), JSON.stringify(r));
  cache.close();
});
