/** The OpenSSL-backed signer signs exactly as nkeys does (Ed25519 is deterministic). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAccount, createUser } from '@nats-io/nkeys';
import { fastSigner } from '../../infra/nats-auth/fast-signer.js';

describe('fast nkeys signer', () => {
  for (const [kind, make] of [
    ['account', createAccount],
    ['user', createUser],
  ] as const) {
    it(`produces the nkeys signature and public key of a ${kind} key`, () => {
      const kp = make();
      const fast = fastSigner(kp);
      const data = new TextEncoder().encode(`claims of a ${kind} ${Math.random()}`);
      assert.deepEqual(fast.sign(data), kp.sign(data));
      assert.equal(fast.getPublicKey(), kp.getPublicKey());
      assert.ok(kp.verify(data, fast.sign(data)));
      assert.deepEqual(fast.getSeed(), kp.getSeed());
    });
  }
});
