/** Owner-only files for keys and credentials: directories 0700, files 0600, written atomically. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Creates `dir` (and parents) and forces mode 0700 even if it already existed. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * Writes `text` to `path` with mode 0600 via a temporary file and rename, so readers never see half a
 * key. `dirReady` skips making the directory private, for a caller that just did (batches of files).
 */
export async function writeSecret(path: string, text: string, o: { dirReady?: boolean } = {}): Promise<void> {
  if (!o.dirReady) await ensurePrivateDir(dirname(path));
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Reads a file as text, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
