import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentInboxPrefix, agentPermissions, inboxPrefixFor, servicePermissions } from '../../infra/nats-auth/permissions.js';
import { readCookie, sessionCookie } from '../../services/auth/cookies.js';
import { createRateLimiter } from '../../services/auth/rate-limit.js';
import { roleSchema } from '../../services/auth/roles.js';
import { hashSecret, newSecret } from '../../services/auth/secrets.js';

describe('auth primitives', () => {
  it('rate limiter allows max hits per window per key, then tells how long to wait', () => {
    let t = 1_000;
    const rl = createRateLimiter({ max: 2, windowMs: 60_000 }, () => t);
    assert.equal(rl.hit('ip'), 0);
    assert.equal(rl.hit('ip'), 0);
    assert.equal(rl.hit('other'), 0);
    t += 10_000;
    assert.equal(rl.hit('ip'), 50_000);
    t += 50_000;
    assert.equal(rl.hit('ip'), 0, 'a new window starts');
    rl.reset('ip');
    assert.equal(rl.hit('ip'), 0);
  });

  it('rate limiter memory stays bounded under a flood of keys', () => {
    const rl = createRateLimiter({ max: 1, windowMs: 60_000 }, () => 0, 3);
    for (const k of ['a', 'b', 'c', 'd']) rl.hit(k);
    assert.equal(rl.hit('a'), 0, "the oldest key was evicted, so 'a' starts over");
    assert.ok(rl.hit('d') > 0);
  });

  it('reads the session cookie among others and writes it HttpOnly, SameSite=Strict', () => {
    assert.equal(readCookie('a=1; gc_session=gcs_x%2Dy; b=2', 'gc_session'), 'gcs_x-y');
    assert.equal(readCookie('gc_session_old=1', 'gc_session'), undefined);
    assert.equal(readCookie(undefined, 'gc_session'), undefined);
    assert.equal(readCookie('gc_session=%E0%A4%A', 'gc_session'), undefined, 'bad escapes are ignored, not thrown');
    assert.equal(sessionCookie('t', 60, true), 'gc_session=t; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure');
    assert.ok(!sessionCookie('t', 60, false).includes('Secure'));
  });

  it('secrets are 256-bit random and stored as sha256', () => {
    const a = newSecret('gcs');
    assert.match(a, /^gcs_[\w-]{43}$/);
    assert.notEqual(a, newSecret('gcs'));
    assert.match(hashSecret(a), /^[0-9a-f]{64}$/);
    assert.equal(hashSecret(a), hashSecret(a));
  });

  it('roles are exactly admin, operator, viewer, auditor', () => {
    assert.deepEqual(roleSchema.options, ['admin', 'operator', 'viewer', 'auditor']);
    assert.equal(roleSchema.safeParse('root').success, false);
  });

  it('an agent may publish only as itself and hear only its own commands and inbox', () => {
    const p = agentPermissions('m1');
    assert.deepEqual(p.pub?.allow, ['gc.agent.m1.>', 'gc.frame.m1.*']);
    assert.deepEqual(p.sub?.allow, ['gc.cmd.m1.>', '_INBOX.a.m1.>']);
    assert.equal(p.resp?.max, 1);
  });

  it('only the gateway (and the launcher) may publish commands; automation publishes nothing', () => {
    const cmdPublishers = (['gateway', 'projections', 'automation', 'auditor', 'launcher'] as const).filter((k) => (servicePermissions(k).pub?.allow ?? []).some((s) => s === 'gc.cmd.>' || s === '>'));
    assert.deepEqual(cmdPublishers, ['gateway', 'launcher']);
    assert.deepEqual(servicePermissions('automation').pub, { allow: [], deny: ['>'] });
    assert.equal(inboxPrefixFor('auditor'), '_INBOX.r.auditor');
    assert.equal(inboxPrefixFor('gateway'), '_INBOX.s.gateway');
    // Disjoint by construction: an agent named like a service still gets the agents' tree.
    assert.equal(agentInboxPrefix('projections'), '_INBOX.a.projections');
    assert.ok(!(servicePermissions('auditor').pub?.allow ?? []).some((s) => s.startsWith('$JS.API')), 'readers never reach the JetStream API itself');
    assert.ok(!(servicePermissions('auditor').pub?.allow ?? []).some((s) => s.startsWith('$JS.ACK') || s.includes('DELETE')));
  });
});
