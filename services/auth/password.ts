/** Password hashing with scrypt (memory-hard, per-user salt), constant-time verification. */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export const scryptParams = { N: 2 ** 15, r: 8, p: 1, keyLen: 32, saltLen: 16 } as const;
type Params = { N: number; r: number; p: number };

// 128 * N * r bytes are needed (32 MiB at N=2^15, r=8); node's default maxmem is exactly that, so raise it.
const maxmemFor = (q: Params) => 128 * q.N * q.r * 2;

function derive(password: string, salt: Buffer, q: Params, keyLen: number): Promise<Buffer> {
  return new Promise((res, rej) => {
    scrypt(password.normalize('NFKC'), salt, keyLen, { N: q.N, r: q.r, p: q.p, maxmem: maxmemFor(q) }, (e, key) => (e ? rej(e) : res(key)));
  });
}

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64), so parameters can be raised later. */
export async function hashPassword(password: string, q: Params = scryptParams): Promise<string> {
  const salt = randomBytes(scryptParams.saltLen);
  const key = await derive(password, salt, q, scryptParams.keyLen);
  return ['scrypt', q.N, q.r, q.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** True when `password` matches `stored`; false for a wrong password or an unreadable hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  // Refuse parameters that would make verification a denial of service or trivially weak.
  if (!(N >= 2 ** 14 && N <= 2 ** 20 && r >= 8 && r <= 32 && p >= 1 && p <= 4) || expected.length < 16) return false;
  const actual = await derive(password, salt, { N, r, p }, expected.length);
  return timingSafeEqual(actual, expected);
}

// Unknown user names still cost one scrypt, so timing does not reveal which names exist.
let dummy: Promise<string> | undefined;
/** Spends the same work as a real verification and returns false. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummy);
  return false;
}

/** A random password for generated accounts (printed once, never stored in clear). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
