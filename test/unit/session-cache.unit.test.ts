/** The session cache's rules on a fake clock (services/auth/session-cache.ts); the real path: auth-session-cache.int.test.ts. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ResolvedSession, createSessionCache } from '../../services/auth/session-cache.js';

const T0 = 1_800_000_000_000;
const session = (name: string, expiresAtMs = T0 + 3600_000): ResolvedSession => ({
  user: { id: `id-${name}`, name, role: 'operator' },
  tokenId: `tok-${name}`,
  mfaEnabled: false,
  expiresAt: new Date(expiresAtMs),
});

function clocked(o: { ttlMs?: number; maxEntries?: number } = {}) {
  const clock = { now: T0 };
  return { clock, cache: createSessionCache({ ttlMs: o.ttlMs ?? 1000, maxEntries: o.maxEntries, now: () => clock.now }) };
}

describe('session cache', () => {
  it('answers the exact key only, until its TTL', () => {
    const { clock, cache } = clocked();
    cache.put('h-alice', session('alice'), cache.generation());
    assert.equal(cache.get('h-alice')?.user.name, 'alice');
    assert.equal(cache.get('h-alic'), undefined, 'a prefix of the key finds nothing');
    assert.equal(cache.get('h-alice '), undefined);
    assert.equal(cache.get('tok-alice'), undefined, 'the token id is no key');
    clock.now = T0 + 999;
    assert.equal(cache.get('h-alice')?.user.name, 'alice');
    clock.now = T0 + 1000;
    assert.equal(cache.get('h-alice'), undefined, 'gone at the TTL');
    assert.equal(cache.size, 0);
  });

  it('never keeps an entry past the token expiry, nor an expired one at all', () => {
    const { clock, cache } = clocked({ ttlMs: 60_000 });
    cache.put('h-short', session('short', T0 + 200), cache.generation());
    clock.now = T0 + 199;
    assert.ok(cache.get('h-short'));
    clock.now = T0 + 200;
    assert.equal(cache.get('h-short'), undefined, 'expired with its token, well inside the TTL');
    cache.put('h-dead', session('dead', T0 - 1), cache.generation());
    cache.put('h-now', session('now', clock.now), cache.generation());
    assert.equal(cache.get('h-dead'), undefined);
    assert.equal(cache.get('h-now'), undefined);
    // Far past and far future expiries: the TTL still bounds the second.
    cache.put('h-far', session('far', 8.64e15), cache.generation());
    clock.now += 60_000;
    assert.equal(cache.get('h-far'), undefined);
  });

  it('drops a lookup that began before a change, and keeps nothing while a change runs', () => {
    const { cache } = clocked();
    cache.put('h-alice', session('alice'), cache.generation());
    const before = cache.generation();
    const end = cache.beginChange();
    assert.equal(cache.get('h-alice'), undefined, 'emptied when the change begins');
    cache.put('h-bob', session('bob'), cache.generation());
    assert.equal(cache.get('h-bob'), undefined, 'nothing kept while the change runs');
    end();
    cache.put('h-olga', session('olga'), before);
    assert.equal(cache.get('h-olga'), undefined, 'a lookup older than the change is not kept');
    cache.put('h-olga', session('olga'), cache.generation());
    assert.equal(cache.get('h-olga')?.user.name, 'olga', 'kept again once the change is over');
    end();
    assert.ok(cache.get('h-olga'), 'ending twice is a no-op');
    // A second end counted twice would leave the next change unguarded.
    const endNext = cache.beginChange();
    cache.put('h-vic', session('vic'), cache.generation());
    assert.equal(cache.get('h-vic'), undefined, 'the next change still keeps nothing');
    endNext();
  });

  it('stays off until every overlapping change has ended', () => {
    const { cache } = clocked();
    const endA = cache.beginChange();
    const endB = cache.beginChange();
    endA();
    cache.put('h-x', session('x'), cache.generation());
    assert.equal(cache.get('h-x'), undefined);
    endB();
    cache.put('h-x', session('x'), cache.generation());
    assert.ok(cache.get('h-x'));
  });

  it('hands out copies: a request changing its user changes nothing for the next', () => {
    const { cache } = clocked();
    const s = session('alice');
    cache.put('h-alice', s, cache.generation());
    s.user.role = 'admin';
    const got = cache.get('h-alice');
    assert.equal(got?.user.role, 'operator');
    if (got) got.user.role = 'admin';
    assert.equal(cache.get('h-alice')?.user.role, 'operator');
  });

  it('holds at most maxEntries, oldest out first', () => {
    const { cache } = clocked({ maxEntries: 3 });
    for (const n of ['a', 'b', 'c', 'd']) cache.put(`h-${n}`, session(n), cache.generation());
    assert.equal(cache.size, 3);
    assert.equal(cache.get('h-a'), undefined);
    assert.ok(cache.get('h-d'));
  });

  it('keeps nothing with a TTL of 0', () => {
    const { cache } = clocked({ ttlMs: 0 });
    cache.put('h-a', session('a'), cache.generation());
    assert.equal(cache.get('h-a'), undefined);
    assert.equal(cache.size, 0);
  });
});
