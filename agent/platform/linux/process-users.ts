/**
 * uid -> account name for the process list, from /etc/passwd parsed once and parsed again only
 * when the file changes (mtime, size or inode: useradd replaces it by rename). One stat per listing
 * instead of reading and parsing the whole file every time.
 */
import { readFileSync, statSync } from 'node:fs';
import { parsePasswd } from './passwd.js';

export interface UserNames {
  /** The account name of `uid`, or the number as text when passwd has no entry for it. */
  nameOf(uid: number): string;
}

/** A cache over `path`; `current()` checks the file once and returns the names to use for one listing. */
export function createUserNames(path = '/etc/passwd'): { current(): UserNames } {
  let stamp = '';
  let byUid = new Map<number, string>();
  const names: UserNames = { nameOf: (uid) => byUid.get(uid) ?? String(uid) };
  return {
    current() {
      let now = 'missing';
      try {
        const st = statSync(path);
        now = `${st.mtimeMs}:${st.size}:${st.ino}`;
      } catch {
        // An unreadable passwd leaves names numeric; not a reason to fail a listing.
      }
      if (now !== stamp) {
        stamp = now;
        const next = new Map<number, string>();
        try {
          // The first entry of a uid wins, as getpwuid(3) answers.
          for (const a of parsePasswd(readFileSync(path, 'utf8'))) if (!next.has(a.uid)) next.set(a.uid, a.name);
        } catch {
          // Vanished between stat and read: numeric names until it is back.
        }
        byUid = next;
      }
      return names;
    },
  };
}
