/** Opaque random secrets (session tokens, enrollment keys) and their stored form. */
import { createHash, randomBytes } from 'node:crypto';

/** A 256-bit random secret with a readable prefix (`gcs_` session, `gce_` enrollment). */
export function newSecret(prefix: 'gcs' | 'gce'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** sha256 hex: enough for 256-bit random secrets (no dictionary to attack), and indexable for lookup. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
