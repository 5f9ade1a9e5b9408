/**
 * The one logger factory of every process (gateway, projections, agent): pino, JSON lines, the
 * process name on every line, and the correlation id bound where there is one (an HTTP request, a
 * viewer connection, a command), so one id finds every line of one technician action. In proto/
 * because the agent ships alone and may import nothing else of ours. Lines are written by the
 * calling thread (pino's default stdout destination, or the one given), never through a
 * worker-thread transport: the agent runs as one bundled file.
 */
import { type Logger, type LoggerOptions, pino } from 'pino';
import { z } from 'zod';

export type { Logger } from 'pino';

export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export type LogLevel = z.infer<typeof logLevelSchema>;

/** The key correlation ids are logged under (fastify's request id uses it too: app.ts `requestIdLogLabel`). */
export const CORRELATION_KEY = 'correlation_id';

export interface LoggerConfig {
  /** The process: gateway, projections, agent. */
  name: string;
  level?: LogLevel;
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: pino.DestinationStream;
}

/** A logger for one process. */
export function createLogger(c: LoggerConfig): Logger {
  const options: LoggerOptions = { name: c.name, level: c.level ?? 'info', base: { process: c.name }, timestamp: pino.stdTimeFunctions.isoTime };
  return c.destination ? pino(options, c.destination) : pino(options);
}

/** A child logger whose every line carries `correlationId` (a viewer id, a command id). */
export function withCorrelation(log: Logger, correlationId: string, bindings: Record<string, unknown> = {}): Logger {
  return log.child({ [CORRELATION_KEY]: correlationId, ...bindings });
}
