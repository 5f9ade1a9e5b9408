/**
 * A process list that fits one bus message. Any local user can start processes, each with a command
 * line of up to 4 KB as read (process-read.ts): 300 of them made the list larger than the largest
 * message NATS takes (proto/codec.ts MAX_MESSAGE_BYTES), its publish failed, and the technician got
 * a TIMEOUT instead of a list, every time. So command lines are shortened first (the column a
 * viewer reads least), then processes past the budget are left out, and the answer says both.
 */
import { MAX_MESSAGE_BYTES } from '../../proto/codec.js';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import { cutText } from '../../proto/text.js';
import type { ProcessInfo } from '../platform/port.js';

/** What the list may take of a message: the rest is the envelope (meta, ids, output fields), far less than this. */
export const PROCESS_LIST_BUDGET_BYTES = MAX_MESSAGE_BYTES - 64 * 1024;
/** Command-line lengths tried in turn, longest first; 0 drops them. */
const CUTS = [1024, 256, 64, 0] as const;

export interface FittedProcessList {
  processes: ProcessInfo[];
  /** Processes left out (0: none). */
  omitted: number;
  /** Command lines were shortened (or dropped). */
  commandLinesCut: boolean;
}

/** Bytes one process takes inside the list: its encoding, its field tag and its length prefix. */
function rowBytes(p: ProcessInfo): number {
  const n = guruconnect.ProcessInfo.encode(p).len;
  return 1 + varintBytes(n) + n;
}

function varintBytes(n: number): number {
  let b = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) b++;
  return b;
}

/** `s` cut to at most `max` UTF-16 units, never inside a surrogate pair, with an ellipsis when cut. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  return max === 0 ? '' : `${cutText(s, max - 1)}…`;
}

/**
 * More than a row can take: its numbers and field tags (under 64 bytes) and three UTF-8 bytes per
 * UTF-16 unit of its text. A list under this needs no encoding to know it fits (the usual case).
 */
function rowBytesAtMost(p: ProcessInfo): number {
  return 64 + 3 * ((p.name ?? '').length + (p.user ?? '').length + (p.commandLine ?? '').length);
}

/** `processes` as they fit `budget` bytes: unchanged when they do. */
export function fitProcessList(processes: readonly ProcessInfo[], budget = PROCESS_LIST_BUDGET_BYTES): FittedProcessList {
  const unchanged = { processes: [...processes], omitted: 0, commandLinesCut: false };
  if (processes.reduce((sum, p) => sum + rowBytesAtMost(p), 0) <= budget) return unchanged;
  const total = (ps: readonly ProcessInfo[]) => ps.reduce((sum, p) => sum + rowBytes(p), 0);
  if (total(processes) <= budget) return unchanged;
  let rows: ProcessInfo[] = [...processes];
  for (const max of CUTS) {
    rows = processes.map((p) => ((p.commandLine ?? '').length > max ? { ...p, commandLine: cut(p.commandLine ?? '', max) } : p));
    if (total(rows) <= budget) return { processes: rows, omitted: 0, commandLinesCut: true };
  }
  // Even without command lines too many: keep processes in the order listed while they fit.
  const kept: ProcessInfo[] = [];
  let used = 0;
  for (const p of rows) {
    const b = rowBytes(p);
    if (used + b > budget) break;
    kept.push(p);
    used += b;
  }
  return { processes: kept, omitted: rows.length - kept.length, commandLinesCut: true };
}
