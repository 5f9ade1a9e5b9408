/** Ending one process: SIGTERM, then SIGKILL if it is still there after a grace period. */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { ControlResult } from '../port.js';
import { readStat } from './procfs.js';

/** Alive and not a zombie (a zombie is dead, only waiting for its parent to reap it). */
export async function isAlive(pid: number): Promise<boolean> {
  const st = await readStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** Terminates `pid`, escalating to SIGKILL after `graceMs`. */
export async function killLinuxProcess(pid: number, graceMs = 3000): Promise<Result<ControlResult>> {
  const target = String(pid);
  if (!Number.isInteger(pid) || pid <= 1) return err(ErrorCode.VALIDATION_FAILED, `pid must be an integer above 1, not ${pid}`);
  if (pid === process.pid) return err(ErrorCode.VALIDATION_FAILED, 'refusing to kill the agent itself');
  if (!(await isAlive(pid))) return err(ErrorCode.NOT_FOUND, `no process with pid ${pid}`);
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    return ok({ ok: false, target, action: 'kill', detail: `SIGTERM failed: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return ok({ ok: true, target, action: 'kill', detail: 'terminated (SIGTERM)' });
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return ok({ ok: true, target, action: 'kill', detail: 'terminated (SIGTERM)' });
    return ok({ ok: false, target, action: 'kill', detail: `SIGKILL failed: ${code ?? String(e)}` });
  }
  for (let i = 0; i < 20 && (await isAlive(pid)); i++) await new Promise((r) => setTimeout(r, 50));
  const gone = !(await isAlive(pid));
  return ok({ ok: gone, target, action: 'kill', detail: gone ? `killed (SIGKILL after ${graceMs / 1000} s)` : 'still alive after SIGKILL' });
}
