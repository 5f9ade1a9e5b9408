/**
 * The CA a NATS client verifies the servers against: a PEM file, given to services and CLIs as
 * NATS_CA (the launcher sets it; CLIs find the local stack's in data/stack.json) and to an agent as
 * GC_NATS_CA (the `nats_ca` of its enrollment reply, written to a file).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ErrorCode, type Result, err, ok } from '../errors.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** A CA bundle larger than this is not a CA bundle (the system's whole store is ~220 KB). */
const MAX_CA_BYTES = 1 << 20;

/** The PEM text of the CA file at `path`, refused unless it holds at least one parsable certificate. */
export function readNatsCa(path: string, name = 'NATS_CA'): Result<string> {
  if (path.length === 0 || path.length > 4096 || path.includes('\0') || /[\ud800-\udfff]/.test(path)) {
    return err(ErrorCode.VALIDATION_FAILED, `${name} is not a usable file path`);
  }
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_CA_BYTES) return err(ErrorCode.VALIDATION_FAILED, `${name} ${path} is larger than a CA bundle can be`);
    text = buf.toString('utf8');
  } catch (e) {
    return err(ErrorCode.VALIDATION_FAILED, `${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return err(ErrorCode.VALIDATION_FAILED, `${name} ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  try {
    for (const b of blocks) new X509Certificate(b);
  } catch (e) {
    return err(ErrorCode.VALIDATION_FAILED, `${name} ${path} holds a certificate that cannot be parsed (${(e as Error).message})`);
  }
  return ok(text);
}

/** NATS_CA from the environment, checked at start-up: undefined when unset, an error sentence when bad. */
export function natsCaFromEnv(env: NodeJS.ProcessEnv, name = 'NATS_CA'): Result<string | undefined> {
  const path = env[name];
  if (!path) return ok(undefined);
  const r = readNatsCa(path, name);
  return r.ok ? ok(path) : r;
}
