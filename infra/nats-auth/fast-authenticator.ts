/**
 * A NATS client authenticator for a .creds text that signs the server's nonce in OpenSSL. nats.js's
 * credsAuthenticator re-parses the seed and derives the key pair in pure JavaScript on every connect
 * (~15 ms of CPU per connection on this machine): harmless for one agent, but 150 s for the load
 * simulator's 10,000. The result is byte for byte the same (Ed25519 is deterministic).
 */
import type { Authenticator, JwtAuth } from '@nats-io/nats-core';
import { fromSeed } from '@nats-io/nkeys';
import { z } from 'zod';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { fastSigner } from './fast-signer.js';

// The same framing nats.js and nsc read: a dashed header line, the value, a dashed footer line.
const CREDS_BLOCK = /\s*(?:(?:-{3,}[^\n]*-{3,}\n)(.+)(?:\n\s*-{3,}[^\n]*-{3,}\n))/g;
const te = new TextEncoder();

/** The JWT and seed of a .creds text. */
export function parseCredsText(creds: string): Result<{ jwt: string; seed: string }> {
  const blocks = [...creds.matchAll(CREDS_BLOCK)].map((m) => m[1]?.trim() ?? '');
  const [jwt, seed] = blocks;
  if (!jwt || !seed?.startsWith('SU')) return err(ErrorCode.VALIDATION_FAILED, 'not a NATS user .creds text (a JWT block, then a user seed block)');
  return ok({ jwt, seed });
}

/** An authenticator equivalent to credsAuthenticator(creds), with the key derived once and signing in OpenSSL. */
export function fastCredsAuthenticator(creds: string): Result<Authenticator> {
  const parsed = parseCredsText(creds);
  if (!parsed.ok) return parsed;
  const { jwt, seed } = parsed.value;
  let kp: ReturnType<typeof fastSigner>;
  try {
    // The JWT's subject is the user's public key: naming it makes the key import cheap and checks
    // that the seed belongs to the JWT (the server would refuse the pair anyway, less clearly).
    const sub = z.object({ sub: z.string() }).parse(JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'))).sub;
    kp = fastSigner(fromSeed(te.encode(seed)), sub);
  } catch (e) {
    return err(ErrorCode.VALIDATION_FAILED, `the .creds text does not hold a user key and its JWT: ${(e as Error).message}`);
  }
  const nkey = kp.getPublicKey();
  return ok((nonce?: string): JwtAuth => ({ jwt, nkey, sig: nonce ? Buffer.from(kp.sign(te.encode(nonce))).toString('base64') : '' }));
}
