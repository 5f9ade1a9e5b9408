/**
 * The dashboard's live channel: tells the page which read models changed (after the projection
 * committed) and re-evaluates online status every few seconds, so lists update without a reload.
 */
import type { WebSocket } from '@fastify/websocket';
import type { ReadModelNotifications } from '../read/notifications.js';

const PRESENCE_TICK_MS = 3000;

export function handleLiveSocket(socket: WebSocket, notifications: ReadModelNotifications): void {
  let pending: NodeJS.Timeout | undefined;
  const changed = new Set<string>();
  const flush = () => {
    pending = undefined;
    if (socket.readyState !== socket.OPEN) return;
    socket.send(JSON.stringify({ t: 'changed', projections: [...changed] }));
    changed.clear();
  };
  // Coalesce bursts (a projection commits many small batches) into one message per 100 ms.
  const off = notifications.on((projection) => {
    changed.add(projection);
    pending ??= setTimeout(flush, 100);
  });
  const tick = setInterval(() => socket.readyState === socket.OPEN && socket.send(JSON.stringify({ t: 'tick' })), PRESENCE_TICK_MS);
  socket.on('close', () => {
    off();
    clearInterval(tick);
    clearTimeout(pending);
  });
  socket.send(JSON.stringify({ t: 'hello' }));
}
