/** Runs a helper program without a shell and collects its output; never rejects. */
import { childProcess } from '../../lazy-builtins.js';
import { access, constants } from 'node:fs/promises';

export interface ExecOutcome {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
}

/** execFile with a timeout and a 32 MB output ceiling. */
export function run(file: string, args: string[], timeoutMs = 30_000): Promise<ExecOutcome> {
  return new Promise((resolve) => {
    childProcess().execFile(file, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, encoding: 'utf8' }, (e, stdout, stderr) => {
      if (!e) return resolve({ code: 0, stdout, stderr });
      const x = e as NodeJS.ErrnoException & { code?: unknown; killed?: boolean };
      if (typeof x.code === 'string') return resolve({ code: -1, stdout, stderr, spawnError: `${file}: ${x.code}` });
      resolve({ code: typeof x.code === 'number' ? x.code : -1, stdout, stderr: stderr || (x.killed ? `${file} timed out` : e.message) });
    });
  });
}

/** Whether an executable named `name` is on PATH. */
export async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const p = `${dir}/${name}`;
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}
