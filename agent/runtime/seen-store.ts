/**
 * The ids of the stored commands this agent ran within the command window, kept in a small file in
 * its state directory so a restart does not forget them: a stored command delivered again after a
 * restart is refused by id while still fresh, and by age after (command-window.ts). An id is dropped
 * once a command of its date would be refused by age anyway, so the file holds minutes of commands.
 *
 * The file is a log (JSON lines: a header, then one [id, at_ms] per line), appended with one
 * synchronous write(2) per command before the command runs. Why not rewrite a whole file per command
 * (as before): that took several asynchronous file operations through libuv's thread pool per
 * command, queued behind whatever else the agent reads (a session listing scans /proc), and it was
 * the slowest hop of a switch. What the write guarantees is what the rewrite did: once it returns,
 * the id is in the kernel, so a crash or kill of the agent cannot forget it; a flush to the disk
 * follows off the command's path (fdatasync, coalesced), which the rewrite never did. A torn last
 * line (the agent died inside the write) belongs to a command that had not started and is ignored;
 * any other damage makes the file unreadable, and then commands dated before the start are refused.
 * The log is compacted (rewritten with the live ids, then renamed over) once it holds twice the live
 * ids, so it stays small.
 */
import { closeSync, fdatasync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import type { Logger } from '../../proto/log/logger.js';

export const SEEN_FILE_NAME = 'seen-commands.jsonl';
/** The whole-file format of agents before the log; read once, then replaced by the log. */
export const LEGACY_SEEN_FILE_NAME = 'seen-commands.json';
/** Ids kept at most; commands come from technicians, so this is far above any real rate. */
const DEFAULT_SEEN_CAPACITY = 20_000;
/** A file larger than this is not ours (20 000 entries of 64-char ids stay well under it). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Lines appended before a compaction is considered (and never before twice the live ids). */
const COMPACT_AFTER_LINES = 1024;

export interface SeenStoreOptions {
  file: string;
  /** Ids older than this (by their command's at_ms) are forgotten: the age check refuses them. */
  maxAgeMs: number;
  capacity?: number;
  now?: () => number;
  log?: Logger;
}

export interface SeenStore {
  /** Commands dated before this were run by an agent whose memory was lost (unreadable file): refuse them. */
  readonly notBefore: number;
  /**
   * Remembers `id` and writes it to the log before returning: ok(true) the first time, ok(false) for
   * an id already run, an error when it could not be written (the command must not run; the id stays
   * remembered, so a second delivery is refused too).
   */
  remember(id: string, atMs: number): Result<boolean>;
  /** Resolves once everything remembered so far has been flushed to the disk (tests, shutdown). */
  flushed(): Promise<void>;
  size(): number;
  close(): void;
}

type Entries = Map<string, number>;

/** Opens the store (and writes it once, so an unwritable directory fails at start-up, not at the first command). */
export async function openSeenStore(o: SeenStoreOptions): Promise<SeenStore> {
  const now = o.now ?? Date.now;
  const capacity = o.capacity ?? DEFAULT_SEEN_CAPACITY;
  const log = (m: string) => o.log?.warn(m);
  const legacy = join(dirname(o.file), LEGACY_SEEN_FILE_NAME);
  const loaded = existsSync(o.file) || !existsSync(legacy) ? loadLog(o.file) : loadLegacy(legacy);
  const entries: Entries = loaded.ok ? loaded.entries : new Map();
  // Whatever the lost file held was dated before now: refusing older commands refuses those too.
  // Kept in the file, so a second restart inside the window still remembers the loss.
  let notBefore = loaded.ok ? loaded.notBefore : now();
  if (!loaded.ok) log(`seen-command file ${o.file} unreadable (${loaded.why}); refusing stored commands dated before ${new Date(notBefore).toISOString()}`);
  // A loss recorded further ahead than a command could ever be dated (a clock that once ran years
  // ahead, a damaged file) would refuse every stored command until that date, across restarts:
  // taken as a loss now instead, which refuses what that loss could have held and nothing later.
  if (notBefore > now() + o.maxAgeMs) {
    log(`seen-command file ${o.file} records a loss dated ${describeMs(notBefore)}, ahead of this machine's clock; refusing stored commands dated before now instead`);
    notBefore = now();
  }

  const prune = () => {
    const oldest = now() - o.maxAgeMs;
    for (const [id, at] of entries) if (at < oldest) entries.delete(id);
    // Maps iterate in insertion order: the first entries are the oldest remembered.
    for (const id of entries.keys()) {
      if (entries.size <= capacity) break;
      entries.delete(id);
      log(`seen-command store full (${capacity}); forgot ${id}`);
    }
  };

  /** The cheap part of `prune`, on every command: ids arrive roughly in date order, so expired ones lead. */
  const pruneHead = () => {
    const oldest = now() - o.maxAgeMs;
    for (const [id, at] of entries) {
      if (at >= oldest) break;
      entries.delete(id);
    }
  };

  let fd = -1;
  let lines = 0;
  /** Rewrites the log with the live ids (write, then rename over: the old log or the new one, never half). */
  const compact = () => {
    prune();
    const dir = dirname(o.file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${SEEN_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`);
    writeFileSync(tmp, [header(notBefore), ...[...entries].map(([id, at]) => line(id, at))].join(''), { mode: 0o600 });
    renameSync(tmp, o.file);
    const next = openSync(o.file, 'a', 0o600);
    closeAfterFlush(fd);
    fd = next;
    lines = entries.size;
  };

  // Flushes to the disk, one at a time, after the writes that need it: never on a command's path.
  let syncing: Promise<void> | undefined;
  let dirty = false;
  /** A replaced or closed log file is closed once no flush uses it any more. */
  const closeAfterFlush = (f: number) => {
    if (f >= 0) void (syncing ?? Promise.resolve()).then(() => closeSync(f));
  };
  /** Starts a flush unless one runs (that one starts the next when it ends, if anything was written meanwhile). */
  const flushSoon = () => {
    if (syncing || !dirty || fd < 0) return;
    dirty = false;
    const at = fd;
    syncing = new Promise<void>((resolve) =>
      fdatasync(at, (e) => {
        if (e) log(`seen-command file ${o.file} not flushed: ${e.message}`);
        syncing = undefined;
        resolve();
        flushSoon();
      }),
    );
  };
  /** Resolves once nothing written so far waits for a flush. */
  const flush = async (): Promise<void> => {
    flushSoon();
    while (syncing) {
      await syncing;
      flushSoon();
    }
  };

  prune();
  compact();
  if (!loaded.ok || existsSync(legacy)) dirty = true;
  if (existsSync(legacy)) unlinkSync(legacy);
  await flush();
  return {
    notBefore,
    remember(id, atMs) {
      if (entries.has(id)) return ok(false);
      entries.set(id, atMs);
      pruneHead();
      if (entries.size > capacity) prune();
      if (lines >= COMPACT_AFTER_LINES && lines >= 2 * entries.size) {
        try {
          compact();
          dirty = true;
          flushSoon();
          return ok(true);
        } catch (e) {
          log(`seen-command file ${o.file} not compacted (${(e as Error).message}); appending`);
        }
      }
      try {
        const bytes = Buffer.from(line(id, atMs));
        // A short write (disk full) leaves a torn line: the next load then finds the log unreadable and refuses older commands.
        if (writeSync(fd, bytes) !== bytes.length) throw new Error('short write');
        lines++;
      } catch (e) {
        return err(ErrorCode.PLATFORM_ERROR, `could not record command ${id} in ${o.file}: ${(e as Error).message}`);
      }
      dirty = true;
      flushSoon();
      return ok(true);
    },
    flushed: flush,
    size: () => entries.size,
    close() {
      closeAfterFlush(fd);
      fd = -1;
    },
  };
}

const describeMs = (ms: number) => (Number.isNaN(new Date(ms).getTime()) ? String(ms) : new Date(ms).toISOString());

const header = (notBefore: number) => `${JSON.stringify({ v: 2, notBefore })}\n`;
// JSON escapes what would break a line (newlines, NUL, lone surrogates).
const line = (id: string, atMs: number) => `${JSON.stringify([id, atMs])}\n`;

type Loaded = { ok: true; entries: Entries; notBefore: number } | { ok: false; why: string };

/** Reads a log; a missing file is an empty store. */
function loadLog(file: string): Loaded {
  try {
    if (statSync(file).size > MAX_FILE_BYTES) return { ok: false, why: `larger than ${MAX_FILE_BYTES} bytes` };
    const text = readFileSync(file, 'utf8');
    const all = text.split('\n');
    // The last element is what follows the last newline: '' for a whole log, else a torn write.
    const rows = all.slice(0, -1);
    const head = parse(rows[0]) as { v?: unknown; notBefore?: unknown } | undefined;
    if (head?.v !== 2) return { ok: false, why: 'not a version 2 seen-command log' };
    const notBefore = typeof head.notBefore === 'number' && Number.isFinite(head.notBefore) ? head.notBefore : 0;
    return entriesOf(rows.slice(1).map(parse), notBefore);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, entries: new Map(), notBefore: 0 };
    return { ok: false, why: (e as Error).message };
  }
}

/** Reads the whole-file format (version 1) an agent of an earlier release left. */
function loadLegacy(file: string): Loaded {
  try {
    if (statSync(file).size > MAX_FILE_BYTES) return { ok: false, why: `larger than ${MAX_FILE_BYTES} bytes` };
    const doc = parse(readFileSync(file, 'utf8')) as { v?: unknown; notBefore?: unknown; ids?: unknown } | undefined;
    if (doc?.v !== 1 || !Array.isArray(doc.ids)) return { ok: false, why: 'not a version 1 seen-command file' };
    const notBefore = typeof doc.notBefore === 'number' && Number.isFinite(doc.notBefore) ? doc.notBefore : 0;
    return entriesOf(doc.ids, notBefore);
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}

function entriesOf(rows: unknown[], notBefore: number): Loaded {
  const entries: Entries = new Map();
  for (const e of rows) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1])) return { ok: false, why: 'malformed entry' };
    entries.set(e[0], e[1]);
  }
  return { ok: true, entries, notBefore };
}

function parse(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
