/** User accounts from /etc/passwd (no NSS: the agent only needs local accounts by uid and name). */
import { readFile } from 'node:fs/promises';

export interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Parses passwd(5) text; malformed lines are skipped. */
export function parsePasswd(text: string): Account[] {
  const out: Account[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] ?? '', uid, gid, home: f[5] ?? '/', shell: f[6] ?? '' });
  }
  return out;
}

/** Lookup tables over the current /etc/passwd; read fresh each call because users come and go. */
export async function readAccounts(path = '/etc/passwd'): Promise<{ byUid: Map<number, Account>; byName: Map<string, Account> }> {
  let accounts: Account[] = [];
  try {
    accounts = parsePasswd(await readFile(path, 'utf8'));
  } catch {
    // An unreadable passwd leaves names unresolved (numeric); not a reason to fail a listing.
  }
  const byUid = new Map<number, Account>();
  const byName = new Map<string, Account>();
  for (const a of accounts) {
    if (!byUid.has(a.uid)) byUid.set(a.uid, a);
    byName.set(a.name, a);
  }
  return { byUid, byName };
}

/** The account name for `uid`, or the number as text when it has none. */
export function userNameOf(byUid: Map<number, Account>, uid: number): string {
  return byUid.get(uid)?.name ?? String(uid);
}
