/**
 * Folds repeated denials into counts, so a technician who is refused 200 times in a few seconds
 * adds two audit rows, not 200: the first denial of a window is published at once (count 1), the
 * rest of that window become one more event with their count, published when the window closes (or
 * on flush, at shutdown). A window belongs to one actor, action, reason and machine; the next
 * denial after it closed opens a new one. Every denial is still counted, none is dropped.
 */
import type { AuditInput } from './audit-publisher.js';

export const DENIAL_EVENT_TYPE = 'access_denied';
export const DEFAULT_DENIAL_FOLD_MS = 10_000;
/** Open windows at most; beyond it denials are published one by one rather than kept in memory. */
export const DEFAULT_MAX_OPEN_WINDOWS = 10_000;

export interface FoldClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: FoldClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface DenialFolderOptions {
  windowMs?: number;
  maxOpenWindows?: number;
  clock?: FoldClock;
  log?: (m: string) => void;
}

export interface DenialFolder {
  /** Publishes the denial now (first of its window) or counts it into the window's closing event. */
  deny(ev: AuditInput): Promise<void>;
  /** Publishes the counts of every open window now and closes them (gateway shutdown). */
  flush(): Promise<void>;
}

interface Window {
  startedAt: number;
  /** Denials after the first, not yet published. */
  rest: number;
  last: AuditInput;
  timer: unknown;
}

/**
 * Refusals anyone can repeat at will are folded: denials, and logins refused before any check
 * because their input is unusable (those come before the login rate limit, from anyone).
 */
export function isFoldedRefusal(ev: AuditInput): boolean {
  return ev.eventType === DENIAL_EVENT_TYPE || (ev.eventType === 'login_failed' && ev.details?.reason === 'invalid_input');
}

/** What makes two refusals "the same": what kind, who (or from where), what, why, where. */
function foldKey(ev: AuditInput): string {
  const d = ev.details ?? {};
  const agent = ev.agentId || (typeof d.agent_id === 'string' ? d.agent_id : '');
  return JSON.stringify([ev.eventType, ev.actor?.userId ?? '', ev.actor?.userName ?? '', String(d.ip ?? ''), String(d.action ?? ''), String(d.reason ?? ''), agent]);
}

/** `count` first, so the audit page's one-line summary of the details shows it. */
function withCount(ev: AuditInput, count: number, extra: Record<string, unknown> = {}): AuditInput {
  return { ...ev, details: Object.assign({ count }, ev.details, extra, { count }) };
}

export function createDenialFolder(publish: (ev: AuditInput) => Promise<void>, o: DenialFolderOptions = {}): DenialFolder {
  const windowMs = o.windowMs ?? DEFAULT_DENIAL_FOLD_MS;
  const maxOpen = o.maxOpenWindows ?? DEFAULT_MAX_OPEN_WINDOWS;
  const clock = o.clock ?? realClock;
  const log = o.log ?? (() => {});
  const open = new Map<string, Window>();

  const close = (key: string): Promise<void> => {
    const w = open.get(key);
    if (!w) return Promise.resolve();
    open.delete(key);
    clock.clearTimeout(w.timer);
    if (w.rest === 0) return Promise.resolve();
    const ev = withCount(w.last, w.rest, { window_started_at: new Date(w.startedAt).toISOString(), window_ms: windowMs });
    // The publisher already logs a failed audit publish loudly; a timer has no caller to tell.
    return publish(ev).catch(() => {});
  };

  return {
    deny(ev) {
      const key = foldKey(ev);
      const w = open.get(key);
      if (w) {
        w.rest++;
        w.last = ev;
        return Promise.resolve();
      }
      if (open.size >= maxOpen) {
        log(`${open.size} denial windows open; publishing this denial unfolded`);
        return publish(withCount(ev, 1));
      }
      open.set(key, { startedAt: clock.now(), rest: 0, last: ev, timer: clock.setTimeout(() => void close(key), windowMs) });
      return publish(withCount(ev, 1));
    },
    async flush() {
      await Promise.all([...open.keys()].map(close));
    },
  };
}
