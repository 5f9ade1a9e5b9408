/** Access tokens: who a token belongs to and whether it is elevated. */
import { addressOf, badHandle, win32 } from './win32-api.js';

const TOKEN_QUERY = 0x8;
const TokenUser = 1;
const TokenElevation = 20;

const accountCache = new Map<string, string>();

/** "DOMAIN\name" of the SID at native address `sid` ('' when the lookup fails). Cached per SID. */
function accountOfSid(sid: bigint, sidKey: string): string {
  const hit = accountCache.get(sidKey);
  if (hit !== undefined) return hit;
  const w = win32();
  const name = Buffer.alloc(512);
  const domain = Buffer.alloc(512);
  const cchName = Buffer.alloc(4);
  const cchDomain = Buffer.alloc(4);
  cchName.writeUInt32LE(256);
  cchDomain.writeUInt32LE(256);
  const use = Buffer.alloc(4);
  let account = '';
  if (w.LookupAccountSidW(null, sid, name, cchName, domain, cchDomain, use)) {
    const n = name.toString('utf16le', 0, cchName.readUInt32LE(0) * 2);
    const d = domain.toString('utf16le', 0, cchDomain.readUInt32LE(0) * 2);
    account = d ? `${d}\\${n}` : n;
  }
  accountCache.set(sidKey, account);
  return account;
}

/** The account a token runs as, "DOMAIN\name" ('' when it cannot be read). */
export function tokenAccount(token: bigint): string {
  const w = win32();
  const buf = Buffer.alloc(256);
  const needed = Buffer.alloc(4);
  if (!w.GetTokenInformation(token, TokenUser, buf, buf.length, needed)) return '';
  // TOKEN_USER { SID_AND_ATTRIBUTES { PSID Sid; DWORD Attributes } }: Sid points into `buf` itself.
  const sid = buf.readBigUInt64LE(0);
  const off = Number(sid - addressOf(buf));
  const subAuthorities = off >= 0 && off + 2 <= buf.length ? (buf[off + 1] ?? 0) : 0;
  const key = off >= 0 ? buf.subarray(off, off + 8 + subAuthorities * 4).toString('hex') : String(sid);
  return accountOfSid(sid, key);
}

/** The account a process runs as ('' when it cannot be opened, e.g. protected processes). */
export function processAccount(process: bigint): string {
  const w = win32();
  const tok = Buffer.alloc(8);
  if (!w.OpenProcessToken(process, TOKEN_QUERY, tok)) return '';
  const token = tok.readBigUInt64LE(0);
  try {
    return tokenAccount(token);
  } finally {
    w.CloseHandle(token);
  }
}

/** Whether this process runs elevated (TokenElevation), i.e. as SYSTEM or an elevated administrator. */
export function isElevated(): boolean {
  const w = win32();
  const tok = Buffer.alloc(8);
  if (!w.OpenProcessToken(w.GetCurrentProcess(), TOKEN_QUERY, tok)) return false;
  const token = tok.readBigUInt64LE(0);
  if (badHandle(token)) return false;
  try {
    const out = Buffer.alloc(4);
    const needed = Buffer.alloc(4);
    return Boolean(w.GetTokenInformation(token, TokenElevation, out, 4, needed)) && out.readUInt32LE(0) !== 0;
  } finally {
    w.CloseHandle(token);
  }
}
