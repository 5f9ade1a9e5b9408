/** Opaque random secrets (session tokens, API tokens, enrollment keys) and their stored form. */
import { createHash, randomBytes } from 'node:crypto';

/**
 * A 256-bit random secret with a readable prefix (`gcs_` session, `gca_` API token, `gce_` enrollment,
 * `gcm_` second-factor challenge):
 * the gateway tells the kinds apart by it, and secret scanners can find a leaked one.
 */
export function newSecret(prefix: 'gcs' | 'gca' | 'gce' | 'gcm'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** sha256 hex: enough for 256-bit random secrets (no dictionary to attack), and indexable for lookup. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
