/**
 * Login records from the utmp file, parsed directly: x86_64 glibc `struct utmpx` is 384 bytes
 * (ut_type@0 i16, ut_pid@4 i32, ut_line@8 [32], ut_id@40 [4], ut_user@44 [32], ut_host@76 [256],
 * ut_exit@332, ut_session@336, ut_tv@340 {i32 sec, i32 usec}, ut_addr_v6@348, reserved@364).
 */
import { readFile } from 'node:fs/promises';

export const UTMP_RECORD_SIZE = 384;

/** Where each field of `struct utmpx` sits (byte offset, and length of the fixed-size strings). */
export const UTMP_LAYOUT = {
  type: 0,
  pid: 4,
  line: { at: 8, len: 32 },
  id: { at: 40, len: 4 },
  user: { at: 44, len: 32 },
  host: { at: 76, len: 256 },
  tvSec: 340,
  tvUsec: 344,
} as const;

export const UtType = {
  EMPTY: 0,
  RUN_LVL: 1,
  BOOT_TIME: 2,
  NEW_TIME: 3,
  OLD_TIME: 4,
  INIT_PROCESS: 5,
  LOGIN_PROCESS: 6,
  USER_PROCESS: 7,
  DEAD_PROCESS: 8,
} as const;

export interface UtmpRecord {
  type: number;
  pid: number;
  line: string;
  id: string;
  user: string;
  host: string;
  /** Login time, ms since epoch. */
  timeMs: number;
}

function cstr(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  const stop = end === -1 || end > start + len ? start + len : end;
  return buf.toString('utf8', start, stop);
}

/** Parses whole records from `buf`; a trailing partial record (file being written) is ignored. */
export function parseUtmp(buf: Buffer): UtmpRecord[] {
  const out: UtmpRecord[] = [];
  for (let off = 0; off + UTMP_RECORD_SIZE <= buf.length; off += UTMP_RECORD_SIZE) {
    const r = buf.subarray(off, off + UTMP_RECORD_SIZE);
    const L = UTMP_LAYOUT;
    out.push({
      type: r.readInt16LE(L.type),
      pid: r.readInt32LE(L.pid),
      line: cstr(r, L.line.at, L.line.len),
      id: cstr(r, L.id.at, L.id.len),
      user: cstr(r, L.user.at, L.user.len),
      host: cstr(r, L.host.at, L.host.len),
      timeMs: r.readInt32LE(L.tvSec) * 1000 + Math.floor(r.readInt32LE(L.tvUsec) / 1000),
    });
  }
  return out;
}

export const UTMP_PATH = '/var/run/utmp';

/** USER_PROCESS records of the utmp file; [] when it does not exist (containers often have none). */
export async function readUserLogins(path = UTMP_PATH): Promise<UtmpRecord[]> {
  try {
    return parseUtmp(await readFile(path)).filter((r) => r.type === UtType.USER_PROCESS && r.user !== '');
  } catch {
    return [];
  }
}
