/** The /ws/live channel: calls back on read-model changes and presence ticks; reconnects with backoff. */
import { wsUrl } from './api.js';

export interface LiveHandlers {
  changed(projections: string[]): void;
  tick(): void;
  status?(connected: boolean): void;
}

/** Connects and keeps connected until the returned stop() is called. */
export function connectLive(handlers: LiveHandlers): () => void {
  let ws: WebSocket | undefined;
  let stopped = false;
  let delay = 500;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = () => {
    ws = new WebSocket(wsUrl('/ws/live'));
    ws.onopen = () => {
      delay = 500;
      handlers.status?.(true);
    };
    ws.onmessage = (e) => {
      let m: { t?: string; projections?: string[] };
      try {
        m = JSON.parse(String(e.data));
      } catch {
        return;
      }
      if (m.t === 'changed') handlers.changed(m.projections ?? []);
      else if (m.t === 'tick') handlers.tick();
    };
    ws.onclose = () => {
      handlers.status?.(false);
      if (stopped) return;
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, 10_000);
    };
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    ws?.close();
  };
}
