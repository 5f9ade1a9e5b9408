/** Runs the README's `npm run guruconnect -- …` as a person would, for tests of the shell tools. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');

export type CliRun = { code: number; stdout: string; stderr: string };

/**
 * `npm run --silent guruconnect -- ...args` with only GC_DATA_DIR set of the stack's settings (no
 * NATS_*, DATABASE_URL or GC_PASSWORD from the test's own environment), plus `extra`.
 */
export function guruconnect(dataDir: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, GC_DATA_DIR: dataDir };
  for (const k of ['NATS_URL', 'NATS_CREDS', 'NATS_CA', 'DATABASE_URL', 'GC_PASSWORD']) delete env[k];
  Object.assign(env, extra);
  return new Promise((resolve) => {
    const p = spawn('npm', ['run', '--silent', 'guruconnect', '--', ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
