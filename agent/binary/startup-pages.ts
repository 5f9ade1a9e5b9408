/**
 * The single-file agent on Linux returns the pages of its executable that only start-up touched.
 * Node maps its ~95 MiB executable; starting the agent (TLS, the compilers, module loading) touches
 * 40-55 MiB of it, and those page mappings stay counted in the idle agent's RSS although idle code
 * never runs them again. madvise(MADV_DONTNEED) on a mapping whose pages are all clean file pages
 * only drops the mappings: the pages stay in the page cache, and whatever the agent runs again is
 * mapped back on its next touch (a minor fault), with the same bytes, read from the same file.
 *
 * Only mappings that cannot hold anything but the file's bytes are dropped: the executable's own,
 * private, never writable, and without a single copy-on-write page (the dynamic linker writes the
 * relocated read-only data before protecting it: such a mapping has anonymous pages and is kept).
 */
import { readFileSync } from 'node:fs';
import koffi from 'koffi';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';

/** A mapping whose pages may be dropped: `[start, start + length)`, page-aligned. */
export interface CleanMapping {
  start: number;
  length: number;
  /** Its resident size when read (bytes). */
  rss: number;
}

const HEADER = /^([0-9a-f]{1,16})-([0-9a-f]{1,16}) ([r-][w-][x-][ps]) [0-9a-f]+ \S+ \d+ *(.*)$/;
/** x86-64 and arm64 user space ends below 2^48: every address there is an exact JS number. */
const USER_SPACE_END = 2 ** 48;
const PAGE = 4096;

/**
 * The mappings of `exe` in /proc/<pid>/smaps text that hold only clean file pages. Pure: a line it
 * does not understand ends the mapping it belongs to as "keep".
 */
export function cleanExecutableMappings(smaps: string, exe: string): CleanMapping[] {
  // An anonymous mapping has no path: dropping its pages would zero the process's memory.
  if (!exe.startsWith('/')) return [];
  const out: CleanMapping[] = [];
  let cur: (CleanMapping & { droppable: boolean; sawAnonymous: boolean }) | undefined;
  const close = () => {
    if (cur?.droppable && cur.sawAnonymous) out.push({ start: cur.start, length: cur.length, rss: cur.rss });
    cur = undefined;
  };
  for (const line of smaps.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      close();
      const start = Number.parseInt(h[1]!, 16);
      const end = Number.parseInt(h[2]!, 16);
      const perms = h[3]!;
      const valid = start < end && end <= USER_SPACE_END && start % PAGE === 0 && end % PAGE === 0;
      cur = { start, length: end - start, rss: 0, droppable: valid && h[4] === exe && perms[1] === '-' && perms[3] === 'p', sawAnonymous: false };
      continue;
    }
    if (!cur) continue;
    const f = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (f) {
      if (f[1] === 'Rss') cur.rss = Number(f[2]) * 1024;
      // Copy-on-write pages are the process's own data: dropping them would lose it.
      if (f[1] === 'Anonymous') {
        cur.sawAnonymous = true;
        if (f[2] !== '0') cur.droppable = false;
      }
    } else if (!/^[A-Z][A-Za-z_]*:/.test(line) && line !== '') cur.droppable = false;
  }
  close();
  return out;
}

const MADV_DONTNEED = 4;

/** Drops the executable's clean mappings (Linux; the single-file binary only); resolves to the bytes that were resident in them. */
export function dropStartupPages(exe = process.execPath): Result<{ mappings: number; bytes: number }> {
  if (process.platform !== 'linux') return err(ErrorCode.NOT_AVAILABLE, 'only Linux start-up pages are dropped');
  try {
    const mappings = cleanExecutableMappings(readFileSync('/proc/self/smaps', 'utf8'), exe);
    const madvise = koffi.load('libc.so.6').func('int madvise(uintptr_t addr, size_t length, int advice)') as (a: number, l: number, adv: number) => number;
    let bytes = 0;
    let dropped = 0;
    for (const m of mappings) {
      if (madvise(m.start, m.length, MADV_DONTNEED) === 0) {
        dropped++;
        bytes += m.rss;
      }
    }
    return ok({ mappings: dropped, bytes });
  } catch (e) {
    // koffi's native module could not be written beside the executable, or /proc is not there.
    return err(ErrorCode.PLATFORM_ERROR, `start-up pages kept: ${(e as Error).message}`);
  }
}
