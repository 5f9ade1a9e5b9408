/** Starts one of the commands bench's floors (a file in this folder) in a process of its own. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Runs `floor/<file>` under tsx; resolves with its URL once it printed its port. */
export async function startFloor(file: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, file)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    child.stdout.once('data', (d: Buffer) => resolve(String(d).trim()));
  });
  child.removeAllListeners('exit');
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}
