/**
 * How many control messages a viewer socket acts on per second. Most cost the gateway database
 * reads (`watch`, `sessions`, `switch`) or the agent work (backstage): one page flooding them queued
 * every other request of the gateway behind its reads (20,000 `watch` messages stalled the machines
 * list for about 10 s). Input and frame acks have limits of their own, terminal keystrokes are a
 * paste's pieces, and `sessions` requests share one read (viewer-socket.ts), so those are not counted:
 * a page can always ask for the list, and the answer tells it the socket is alive.
 */
export const MAX_CONTROL_PER_SEC = 50;

const UNCOUNTED: ReadonlySet<string> = new Set(['input', 'ack', 'terminal.input', 'sessions']);

/** 'take': act on it; 'tell': drop it and say so (once a second); 'drop': drop it silently. */
export type BudgetVerdict = 'take' | 'tell' | 'drop';

export function controlBudget(max = MAX_CONTROL_PER_SEC): (kind: string, nowMs: number) => BudgetVerdict {
  let windowStart = Number.NEGATIVE_INFINITY;
  let count = 0;
  return (kind, nowMs) => {
    if (UNCOUNTED.has(kind)) return 'take';
    if (nowMs - windowStart >= 1000) {
      windowStart = nowMs;
      count = 0;
    }
    count++;
    if (count <= max) return 'take';
    return count === max + 1 ? 'tell' : 'drop';
  };
}
