/** Which mappings of the single-file agent may drop their start-up pages: only clean file pages of the executable itself. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanExecutableMappings } from '../../agent/binary/startup-pages.js';

const EXE = '/opt/guruconnect/guruconnect-agent';
const mapping = (range: string, perms: string, path: string, fields: Record<string, number>) =>
  [
    `${range} ${perms} 00000000 fe:01 1234                       ${path}`,
    ...Object.entries(fields).map(([k, v]) => `${k}:${' '.repeat(Math.max(1, 16 - k.length))}${v} kB`),
    'VmFlags: rd ex mr mw me dw sd',
  ].join('\n');

describe('cleanExecutableMappings', () => {
  it('keeps the text and read-only data of the executable, with their resident size', () => {
    const smaps = [mapping('00400000-00b6f000', 'r--p', EXE, { Size: 7612, Rss: 4988, Anonymous: 0 }), mapping('00b72000-02601000', 'r-xp', EXE, { Size: 27196, Rss: 25656, Anonymous: 0 })].join('\n');
    assert.deepEqual(cleanExecutableMappings(smaps, EXE), [
      { start: 0x400000, length: 0xb6f000 - 0x400000, rss: 4988 * 1024 },
      { start: 0xb72000, length: 0x2601000 - 0xb72000, rss: 25656 * 1024 },
    ]);
  });

  it('never offers a mapping with a copy-on-write page, a writable one, a shared one, or another file', () => {
    const smaps = [
      // Relocated read-only data (RELRO): written by the dynamic linker, then protected.
      mapping('0563a000-0563e000', 'r--p', EXE, { Size: 16, Rss: 16, Anonymous: 16 }),
      mapping('0563e000-0565d000', 'rw-p', EXE, { Size: 124, Rss: 124, Anonymous: 0 }),
      mapping('0565d000-0565e000', 'r--s', EXE, { Size: 4, Rss: 4, Anonymous: 0 }),
      mapping('7f0000000000-7f0000100000', 'r-xp', '/usr/lib/x86_64-linux-gnu/libc.so.6', { Size: 1024, Rss: 900, Anonymous: 0 }),
      mapping('7f0000200000-7f0000300000', 'r-xp', `${EXE} (deleted)`, { Size: 1024, Rss: 900, Anonymous: 0 }),
      mapping('7f0000400000-7f0000500000', 'r--p', '', { Size: 1024, Rss: 900, Anonymous: 0 }),
      mapping('7f0000600000-7f0000700000', 'r--p', '[vvar]', { Size: 1024, Rss: 900, Anonymous: 0 }),
    ].join('\n');
    assert.deepEqual(cleanExecutableMappings(smaps, EXE), []);
  });

  it('keeps a mapping whose smaps says nothing of anonymous pages, or that it cannot read', () => {
    const noAnon = mapping('00400000-00b6f000', 'r--p', EXE, { Size: 7612, Rss: 4988 });
    const garbled = `${mapping('00b72000-02601000', 'r-xp', EXE, { Size: 27196, Rss: 25656, Anonymous: 0 })}\n\u0000garbage \ud800 line`;
    assert.deepEqual(cleanExecutableMappings(noAnon, EXE), []);
    assert.deepEqual(cleanExecutableMappings(garbled, EXE), []);
  });

  it('refuses ranges that are empty, reversed, unaligned or beyond user space', () => {
    const ranges = ['00400000-00400000', '00b6f000-00400000', '00400001-00b6f000', '00400000-00b6f001', 'ffffffffffff0000-ffffffffffff1000', '7fffffffffffffff-ffffffffffffffff'];
    const smaps = ranges.map((r) => mapping(r, 'r--p', EXE, { Size: 4, Rss: 4, Anonymous: 0 })).join('\n');
    assert.deepEqual(cleanExecutableMappings(smaps, EXE), []);
  });

  it('answers nothing for empty, huge or hostile text', () => {
    for (const s of ['', '\u0000', 'x\ud800', 'a'.repeat(100_000), `${'-'.repeat(50_000)}\n`.repeat(2)]) assert.deepEqual(cleanExecutableMappings(s, EXE), []);
    assert.deepEqual(cleanExecutableMappings(mapping('00400000-00b6f000', 'r--p', EXE, { Size: 1, Rss: 1, Anonymous: 0 }), ''), []);
    // An executable path of '' must not match the path-less (anonymous) mappings.
    assert.deepEqual(cleanExecutableMappings(mapping('7f0000400000-7f0000500000', 'r--p', '', { Size: 1024, Rss: 900, Anonymous: 0 }), ''), []);
  });
});
