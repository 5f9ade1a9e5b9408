/**
 * The Windows service's log file: a service has no console, so the agent's JSON lines (and anything
 * a library prints) go to agent.log in the state directory, one old file kept. Written synchronously:
 * the file is whole when the SCM stops the process. Rotated as it grows, not only at start: a service
 * runs for months, and anything that makes the agent log (a long NATS outage, refused commands) would
 * otherwise fill the disk of the machine it serves.
 */
import { appendFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const SERVICE_LOG_FILE = 'agent.log';
export const SERVICE_LOG_MAX_BYTES = 10 * 2 ** 20;

/** A pino destination appending to `<dir>/agent.log`, moved to agent.log.1 once it passes `maxBytes`. */
export function serviceLogFile(dir: string, maxBytes = SERVICE_LOG_MAX_BYTES): { write(line: string): void } {
  const file = join(dir, SERVICE_LOG_FILE);
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {}
  const rotate = () => {
    try {
      renameSync(file, `${file}.1`);
    } catch {}
    size = 0;
  };
  if (size > maxBytes) rotate();
  return {
    write(line: string) {
      try {
        appendFileSync(file, line, { mode: 0o600 });
        size += Buffer.byteLength(line);
      } catch {}
      if (size > maxBytes) rotate();
    },
  };
}
