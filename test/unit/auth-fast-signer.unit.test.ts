/** The OpenSSL-backed key pairs and authenticator sign and encode exactly as nkeys and nats.js do (Ed25519 is deterministic). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { credsAuthenticator } from '@nats-io/nats-core';
import { Prefix, createAccount, createUser, fromSeed } from '@nats-io/nkeys';
import { fastCredsAuthenticator } from '../../infra/nats-auth/fast-authenticator.js';
import { fastSigner, newFastKeyPair } from '../../infra/nats-auth/fast-signer.js';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';

describe('fast nkeys signer', () => {
  for (const [kind, make] of [
    ['account', createAccount],
    ['user', createUser],
  ] as const) {
    it(`produces the nkeys signature, public and private key of a ${kind} key`, () => {
      const kp = make();
      const fast = fastSigner(kp);
      const data = new TextEncoder().encode(`claims of a ${kind} ${Math.random()}`);
      assert.deepEqual(fast.sign(data), kp.sign(data));
      assert.equal(fast.getPublicKey(), kp.getPublicKey());
      assert.deepEqual(fast.getPrivateKey(), kp.getPrivateKey());
      assert.ok(kp.verify(data, fast.sign(data)));
      assert.deepEqual(fast.getSeed(), kp.getSeed());
    });
  }

  for (const [kind, prefix, letter] of [
    ['user', Prefix.User, 'U'],
    ['account', Prefix.Account, 'A'],
  ] as const) {
    it(`makes new ${kind} keys that nkeys reads back as the same key`, () => {
      const fast = newFastKeyPair(prefix);
      // nkeys derives everything again from the seed alone, in its own pure-JavaScript curve code.
      const slow = fromSeed(fast.getSeed());
      assert.equal(fast.getPublicKey(), slow.getPublicKey());
      assert.equal(fast.getPublicKey()[0], letter);
      assert.deepEqual(fast.getPrivateKey(), slow.getPrivateKey());
      const data = new TextEncoder().encode(`a ${kind} JWT ${Math.random()}`);
      assert.deepEqual(fast.sign(data), slow.sign(data));
      assert.ok(slow.verify(data, fast.sign(data)));
      assert.notEqual(newFastKeyPair(prefix).getPublicKey(), fast.getPublicKey(), 'a fresh key each time');
    });
  }
});

describe('fast creds authenticator', () => {
  it('answers a nonce exactly as nats.js credsAuthenticator does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-fast-auth-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const setup = await prepareNatsAuth(dir);
    const issued = await setup.issueAgentCreds('fast-auth-agent');
    assert.ok(issued.ok);
    const fast = fastCredsAuthenticator(issued.value.creds);
    assert.ok(fast.ok);
    const slow = credsAuthenticator(new TextEncoder().encode(issued.value.creds));
    for (const nonce of ['abc', `nonce-${Math.random()}`, 'x'.repeat(100)]) assert.deepEqual(fast.value(nonce), slow(nonce));
    assert.equal((fast.value('n') as { nkey: string }).nkey, issued.value.userKey);
  });

  it("refuses a .creds whose seed belongs to another identity's JWT (one agent's key under another's name)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-fast-auth-mix-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const setup = await prepareNatsAuth(dir);
    const [a, b] = [await setup.issueAgentCreds('mix-a'), await setup.issueAgentCreds('mix-b')];
    assert.ok(a.ok && b.ok);
    const jwtOf = (creds: string) => /-----BEGIN NATS USER JWT-----\s+(\S+)\s+/.exec(creds)?.[1] ?? '';
    const mixed = a.value.creds.replace(jwtOf(a.value.creds), jwtOf(b.value.creds));
    const r = fastCredsAuthenticator(mixed);
    assert.ok(!r.ok && r.error.code === 'VALIDATION_FAILED' && r.error.message.includes(b.value.userKey), JSON.stringify(r));
  });

  it('refuses text that is not a user .creds', () => {
    for (const bad of ['', 'garbage', '-----BEGIN NATS USER JWT-----\nabc\n------END NATS USER JWT------\n', `x\ud800\u0000`]) {
      const r = fastCredsAuthenticator(bad);
      assert.ok(!r.ok && r.error.code === 'VALIDATION_FAILED', JSON.stringify(bad));
    }
  });
});
