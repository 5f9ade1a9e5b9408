/**
 * A file's pages in the kernel's page cache: how many are there, and dropping them. The agent's
 * file-backed RSS depends on how its executable sits in the cache (a file just written by the build
 * is cached whole, in large folios, and a fault maps cached neighbours too); a service starts at
 * boot from a file read back from disk. Dropping the file's pages lets a benchmark start a binary the
 * way it starts on a customer's machine, and the count says the drop happened.
 */
import { closeSync, fstatSync, fsyncSync, openSync } from 'node:fs';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const posixFadvise = libc.func('int posix_fadvise(int fd, int64_t offset, int64_t len, int advice)');
const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
const munmap = libc.func('int munmap(void *addr, size_t length)');
const mincore = libc.func('int mincore(void *addr, size_t length, _Out_ uint8_t *vec)');

const POSIX_FADV_DONTNEED = 4;
const PROT_READ = 1;
const MAP_SHARED = 1;
const PAGE = 4096;

/** Writes back and drops every clean page of `path` from the page cache (pages other processes map stay). */
export function dropFromPageCache(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
    const err = posixFadvise(fd, 0, 0, POSIX_FADV_DONTNEED) as number;
    if (err !== 0) throw new Error(`posix_fadvise(${path}, DONTNEED) failed: errno ${err}`);
  } finally {
    closeSync(fd);
  }
}

/** The share (0..1) of `path`'s pages now in the page cache, from mincore over a mapping of it. */
export function cachedShare(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return 0;
    const addr = mmap(null, size, PROT_READ, MAP_SHARED, fd, 0);
    // MAP_FAILED is (void *)-1.
    if (addr === null || koffi.address(addr) === 0xffffffffffffffffn) throw new Error(`mmap(${path}) failed`);
    try {
      const pages = Math.ceil(size / PAGE);
      const vec = new Uint8Array(pages);
      if ((mincore(addr, size, vec) as number) !== 0) throw new Error(`mincore(${path}) failed`);
      let cached = 0;
      for (const v of vec) cached += v & 1;
      return cached / pages;
    } finally {
      munmap(addr, size);
    }
  } finally {
    closeSync(fd);
  }
}
