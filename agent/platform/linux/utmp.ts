/**
 * Login records from the utmp file, parsed directly: x86_64 glibc `struct utmpx` is 384 bytes
 * (ut_type@0 i16, ut_pid@4 i32, ut_line@8 [32], ut_id@40 [4], ut_user@44 [32], ut_host@76 [256],
 * ut_exit@332, ut_session@336, ut_tv@340 {i32 sec, i32 usec}, ut_addr_v6@348, reserved@364).
 */
import { readFile } from 'node:fs/promises';

export const UTMP_RECORD_SIZE = 384;

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
    out.push({
      type: r.readInt16LE(0),
      pid: r.readInt32LE(4),
      line: cstr(r, 8, 32),
      id: cstr(r, 40, 4),
      user: cstr(r, 44, 32),
      host: cstr(r, 76, 256),
      timeMs: r.readInt32LE(340) * 1000 + Math.floor(r.readInt32LE(344) / 1000),
    });
  }
  return out;
}

/** Builds one record; the inverse of parseUtmp, used by tests to hand-build files. */
export function encodeUtmp(rec: Partial<UtmpRecord>): Buffer {
  const b = Buffer.alloc(UTMP_RECORD_SIZE);
  b.writeInt16LE(rec.type ?? UtType.USER_PROCESS, 0);
  b.writeInt32LE(rec.pid ?? 0, 4);
  b.write(rec.line ?? '', 8, 32, 'utf8');
  b.write(rec.id ?? '', 40, 4, 'utf8');
  b.write(rec.user ?? '', 44, 32, 'utf8');
  b.write(rec.host ?? '', 76, 256, 'utf8');
  const ms = rec.timeMs ?? 0;
  b.writeInt32LE(Math.floor(ms / 1000), 340);
  b.writeInt32LE((ms % 1000) * 1000, 344);
  return b;
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
