/**
 * Listens for the projections' commit notifications (NOTIFY gc_read_models, '<projection>') on a
 * dedicated connection, reconnecting with backoff, so dashboards refresh exactly after new rows exist.
 */
import pg from 'pg';

export const READ_MODEL_CHANNEL = 'gc_read_models';

export interface ReadModelNotifications {
  on(fn: (projection: string) => void): () => void;
  close(): Promise<void>;
}

export function listenReadModels(databaseUrl: string, log: (m: string) => void): ReadModelNotifications {
  const listeners = new Set<(p: string) => void>();
  let client: pg.Client | undefined;
  let closed = false;
  let delay = 250;
  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: databaseUrl, application_name: 'gc-gateway-listen' });
    c.on('notification', (n) => {
      for (const fn of listeners) fn(n.payload ?? '');
    });
    c.on('error', () => {});
    c.on('end', () => {
      if (!closed) setTimeout(connect, delay);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${READ_MODEL_CHANNEL}`);
      client = c;
      delay = 250;
      // A reconnect may have missed notifications: tell listeners to refresh once.
      for (const fn of listeners) fn('*');
    } catch (e) {
      log(`read-model notifications unavailable (${(e as Error).message}); retrying`);
      delay = Math.min(delay * 2, 5000);
      await c.end().catch(() => {});
    }
  };
  void connect();
  return {
    on(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async close() {
      closed = true;
      await client?.end().catch(() => {});
    },
  };
}
