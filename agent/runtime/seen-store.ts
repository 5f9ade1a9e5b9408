/**
 * The ids of the stored commands this agent ran within the command window, kept in a small file in
 * its state directory so a restart does not forget them: a stored command delivered again after a
 * restart is refused by id while still fresh, and by age after (command-window.ts). An id is dropped
 * once a command of its date would be refused by age anyway, so the file holds minutes of commands.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../../proto/log/logger.js';

export const SEEN_FILE_NAME = 'seen-commands.json';
/** Ids kept at most; commands come from technicians, so this is far above any real rate. */
const DEFAULT_SEEN_CAPACITY = 20_000;
/** A file larger than this is not ours (20 000 entries of 64-char ids stay well under it). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

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
  /** True the first time `id` is offered (and remembers it); false for an id already run. */
  firstTime(id: string, atMs: number): boolean;
  /** Resolves when everything remembered so far is on disk; rejects when it could not be written. */
  persisted(): Promise<void>;
  size(): number;
}

type Entries = Map<string, number>;

/** Opens (and writes once, so an unwritable directory fails at start-up, not at the first command) the store. */
export async function openSeenStore(o: SeenStoreOptions): Promise<SeenStore> {
  const now = o.now ?? Date.now;
  const capacity = o.capacity ?? DEFAULT_SEEN_CAPACITY;
  const loaded = await load(o.file);
  const entries: Entries = loaded.ok ? loaded.entries : new Map();
  // Whatever the lost file held was dated before now: refusing older commands refuses those too.
  // Kept in the file, so a second restart inside the window still remembers the loss.
  const notBefore = loaded.ok ? loaded.notBefore : now();
  if (!loaded.ok) o.log?.warn(`seen-command file ${o.file} unreadable (${loaded.why}); refusing stored commands dated before ${new Date(notBefore).toISOString()}`);

  const prune = () => {
    const oldest = now() - o.maxAgeMs;
    for (const [id, at] of entries) if (at < oldest) entries.delete(id);
    // Maps iterate in insertion order: the first entries are the oldest remembered.
    for (const id of entries.keys()) {
      if (entries.size <= capacity) break;
      entries.delete(id);
      o.log?.warn(`seen-command store full (${capacity}); forgot ${id}`);
    }
  };

  let chain: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  const persisted = (): Promise<void> => {
    // A write not yet started will serialize the state as it is then, marks added since included.
    if (queued) return queued;
    const next = chain.then(() => {
      queued = undefined;
      prune();
      return writeAtomically(o.file, JSON.stringify({ v: 1, notBefore, ids: [...entries] }));
    });
    queued = next;
    chain = next.catch(() => {});
    return next;
  };

  prune();
  await persisted();
  return {
    notBefore,
    firstTime(id, atMs) {
      if (entries.has(id)) return false;
      entries.set(id, atMs);
      if (entries.size > capacity) prune();
      return true;
    },
    persisted,
    size: () => entries.size,
  };
}

async function load(file: string): Promise<{ ok: true; entries: Entries; notBefore: number } | { ok: false; why: string }> {
  try {
    if ((await stat(file)).size > MAX_FILE_BYTES) return { ok: false, why: `larger than ${MAX_FILE_BYTES} bytes` };
    const doc = JSON.parse(await readFile(file, 'utf8')) as { v?: unknown; notBefore?: unknown; ids?: unknown };
    if (doc?.v !== 1 || !Array.isArray(doc.ids)) return { ok: false, why: 'not a version 1 seen-command file' };
    const notBefore = typeof doc.notBefore === 'number' && Number.isFinite(doc.notBefore) ? doc.notBefore : 0;
    const entries: Entries = new Map();
    for (const e of doc.ids) {
      if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1])) return { ok: false, why: 'malformed entry' };
      entries.set(e[0], e[1]);
    }
    return { ok: true, entries, notBefore };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, entries: new Map(), notBefore: 0 };
    return { ok: false, why: (e as Error).message };
  }
}

/** Write, then rename over: a crash leaves the old file or the new one, never half of one. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${SEEN_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}
