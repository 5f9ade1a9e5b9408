/** Hand-built utmp files for tests: the inverse of the agent's parser, on the agent's own layout. */
import { UTMP_LAYOUT as L, UTMP_RECORD_SIZE, type UtmpRecord, UtType } from '../../agent/platform/linux/utmp.js';

/** One `struct utmpx` record; fields left out are zero (a USER_PROCESS by default). */
export function encodeUtmp(rec: Partial<UtmpRecord>): Buffer {
  const b = Buffer.alloc(UTMP_RECORD_SIZE);
  b.writeInt16LE(rec.type ?? UtType.USER_PROCESS, L.type);
  b.writeInt32LE(rec.pid ?? 0, L.pid);
  b.write(rec.line ?? '', L.line.at, L.line.len, 'utf8');
  b.write(rec.id ?? '', L.id.at, L.id.len, 'utf8');
  b.write(rec.user ?? '', L.user.at, L.user.len, 'utf8');
  b.write(rec.host ?? '', L.host.at, L.host.len, 'utf8');
  const ms = rec.timeMs ?? 0;
  b.writeInt32LE(Math.floor(ms / 1000), L.tvSec);
  b.writeInt32LE((ms % 1000) * 1000, L.tvUsec);
  return b;
}
