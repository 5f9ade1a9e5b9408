/** Loggers for tests, from the processes' own factory (proto/log/logger.ts): one that keeps its lines, one that drops them. */
import { type Logger, createLogger } from '../../proto/log/logger.js';

export type LogLine = Record<string, unknown> & { msg?: string; level?: number; correlation_id?: string };

/** A logger whose JSON lines are parsed into `lines` as they are written. */
export function logLines(name = 'test'): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger({ name, level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) } });
  return { log, lines };
}

/** A logger that writes nothing. */
export const silentLog = (): Logger => createLogger({ name: 'test', level: 'silent' });
