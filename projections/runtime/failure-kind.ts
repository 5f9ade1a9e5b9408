/**
 * Whether a failed apply is the event's fault (deterministic: it fails the same way on every retry)
 * or the world's (transient: connection lost, server restarting, a lock timeout). Only the second
 * may be retried; retrying the first forever stalls every event behind it.
 */
import pg from 'pg';

/**
 * SQLSTATE classes that a value causes: 22 data exception (bad text, json, number or timestamp out
 * of range), 23 integrity constraint violation, 54 program limit exceeded (a too-large row or
 * array). Everything else (08 connection, 57 operator intervention, 53 resources, 40 rollback, 42
 * a schema bug that every event would hit) is retried.
 */
const DETERMINISTIC_CLASSES: ReadonlySet<string> = new Set(['22', '23', '54']);

export interface FailureKind {
  deterministic: boolean;
  /** SQLSTATE, or the JS error's name. */
  code: string;
  message: string;
}

/** Classifies what an apply threw. */
export function classifyFailure(e: unknown): FailureKind {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof pg.DatabaseError && typeof e.code === 'string') {
    return { deterministic: DETERMINISTIC_CLASSES.has(e.code.slice(0, 2)), code: e.code, message };
  }
  // A fold that throws on odd data (a field it did not expect to be missing, a number it cannot
  // format) throws these; the driver's own connection failures are plain Errors.
  if (e instanceof TypeError || e instanceof RangeError) return { deterministic: true, code: e.name, message };
  return { deterministic: false, code: e instanceof Error ? e.name : 'Error', message };
}
