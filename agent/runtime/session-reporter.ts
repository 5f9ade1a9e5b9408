/**
 * Keeps the agent's view of its sessions fresh and reports it: at start, whenever it changes
 * (platform notification, else a poll), and on request.
 */
import { ErrorCode, err } from '../../proto/errors.js';
import type { Logger } from '../../proto/log/logger.js';
import type { PlatformPort, SessionInfo } from '../platform/port.js';
import type { Publisher } from './publisher.js';

export interface SessionReporter {
  /** The latest list read from the platform. */
  current(): SessionInfo[];
  /** Re-reads the list and publishes it even when unchanged (a request from the server). */
  publishNow(correlationId?: string): Promise<void>;
  /**
   * Publishes the list as last read, with the current session id as it is now (after a switch): the
   * sessions did not change, so nothing is re-read (a listing scans /proc and asks every X server).
   */
  publishCurrent(): Promise<void>;
  stop(): void;
}

export interface SessionReporterDeps {
  platform: PlatformPort;
  publisher: Publisher;
  pollMs: number;
  /** Which session the agent is capturing now (for SessionList.current_session_id). */
  currentSessionId: () => number;
  onChange?: (sessions: SessionInfo[]) => void;
  log: Logger;
}

// Idle seconds change every poll; they are reported but must not count as a change of the list.
const fingerprint = (list: SessionInfo[]) => JSON.stringify(list.map((s) => ({ ...s, idleSecs: Math.min(1, Number(s.idleSecs ?? 0)) })));

export async function startSessionReporter(deps: SessionReporterDeps): Promise<SessionReporter> {
  let latest: SessionInfo[] = [];
  let lastSent = '';
  let busy: Promise<void> = Promise.resolve();

  const refresh = async (force: boolean, correlationId?: string, reread = true): Promise<void> => {
    if (reread) {
      // A throw (rather than an error value) would leave the chain rejected and skip every later refresh.
      const r = await deps.platform.listSessions().catch((e: unknown) => err(ErrorCode.PLATFORM_ERROR, (e as Error)?.message ?? String(e)));
      if (!r.ok) {
        deps.log.warn({ error_code: r.error.code }, `listing sessions failed: ${r.error.message}`);
        return;
      }
      latest = r.value;
    }
    const fp = fingerprint(latest);
    if (!force && fp === lastSent) return;
    try {
      await deps.publisher.event('sessions', { sessionList: { sessions: latest, currentSessionId: deps.currentSessionId() } }, correlationId);
      lastSent = fp;
      deps.onChange?.(latest);
    } catch (e) {
      deps.log.warn({ err: e }, 'publishing sessions failed (will retry)');
    }
  };
  // Serialize refreshes so a notification and a poll never publish out of order.
  const schedule = (force: boolean, correlationId?: string, reread = true) => {
    busy = busy.then(() => refresh(force, correlationId, reread));
    return busy;
  };
  // Polls and notifications coalesce: while one waits its turn, another adds nothing it would not
  // read itself. A storm of logon notifications behind a slow listing (an X server that hangs)
  // would otherwise grow the chain without bound.
  let changeQueued: Promise<void> | undefined;
  const scheduleChange = () => {
    if (changeQueued) return;
    changeQueued = busy.then(() => {
      changeQueued = undefined;
      return refresh(false);
    });
    busy = changeQueued;
  };

  await schedule(true);
  const timer = setInterval(scheduleChange, deps.pollMs);
  const unwatch = deps.platform.watchSessions?.(scheduleChange);
  return {
    current: () => latest,
    publishNow: (correlationId) => schedule(true, correlationId),
    publishCurrent: () => schedule(true, undefined, false),
    stop() {
      clearInterval(timer);
      unwatch?.();
    },
  };
}
