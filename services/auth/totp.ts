/**
 * TOTP (RFC 6238) through the otpauth library: SHA-1, 6 digits, 30 s steps — what every
 * authenticator app reads from an otpauth:// URI. Pure functions; the clock is a parameter.
 */
import { Secret, TOTP } from 'otpauth';

export const totpParams = { algorithm: 'SHA1', digits: 6, period: 30, window: 1 } as const;

/** A new random 160-bit secret, base32 (RFC 4226 recommends 160 bits for SHA-1). */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secret: string, label = 'user', issuer = 'GuruConnect'): TOTP {
  return new TOTP({ issuer, label, secret: Secret.fromBase32(secret), algorithm: totpParams.algorithm, digits: totpParams.digits, period: totpParams.period });
}

/** The otpauth:// URI an authenticator app scans (shown as a QR code). */
export function totpUri(secret: string, label: string, issuer: string): string {
  return totp(secret, label, issuer).toString();
}

/** The code for the time `nowMs` (tests and the dashboard's own e2e test compute codes with it). */
export function totpCode(secret: string, nowMs: number): string {
  return totp(secret).generate({ timestamp: nowMs });
}

/** The time step of `nowMs`. */
export function timeStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / totpParams.period);
}

/**
 * The time step `code` belongs to within ±1 step of `nowMs`, or undefined. The caller refuses a
 * step at or before the last one it accepted, so a code works once.
 */
export function matchTotp(secret: string, code: string, nowMs: number): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totp(secret).validate({ token: code, timestamp: nowMs, window: totpParams.window });
  return delta === null ? undefined : timeStep(nowMs) + delta;
}
