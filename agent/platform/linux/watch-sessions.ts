/** Notices session changes: X sockets appearing/disappearing and utmp rewrites. */
import { type FSWatcher, existsSync, watch } from 'node:fs';
import { UTMP_PATH } from './utmp.js';
import { X11_SOCKET_DIR } from './x-servers.js';

/** Calls `onChange` (debounced by `debounceMs`) after a change; returns the unsubscribe. */
export function watchSessionSources(onChange: () => void, opts: { debounceMs?: number; paths?: string[] } = {}): () => void {
  const { debounceMs = 200, paths = [X11_SOCKET_DIR, UTMP_PATH] } = opts;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const p of paths) {
    if (!existsSync(p)) continue;
    try {
      const w = watch(p, { persistent: false }, fire);
      // A watched path deleted underneath us must not crash the agent.
      w.on('error', () => w.close());
      watchers.push(w);
    } catch {
      // Not watchable (permissions, inotify limits): callers still poll.
    }
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
