/** The OpenSSL-backed key pairs sign and encode exactly as nkeys does (Ed25519 is deterministic). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Prefix, createAccount, createUser, fromSeed } from '@nats-io/nkeys';
import { fastSigner, newFastKeyPair } from '../../infra/nats-auth/fast-signer.js';

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
