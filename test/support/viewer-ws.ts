/**
 * A viewer WebSocket from Node for integration tests, authenticated like the dashboard. `ws` ships as
 * a dependency of @fastify/websocket (no types here): Node 20 has no global WebSocket without a flag,
 * and the browser-style one cannot send the session cookie.
 */
export interface ViewerSocket {
  send(data: string): void;
  close(): void;
  /** Resolves with the close code once the socket is closed (by either side). */
  readonly closed: Promise<number>;
}
interface WsLike extends Omit<ViewerSocket, 'closed'> {
  on(ev: 'message', fn: (raw: Buffer, binary: boolean) => void): void;
  once(ev: 'open' | 'error', fn: (e?: unknown) => void): void;
  once(ev: 'close', fn: (code: number) => void): void;
}
const wsModule = 'ws';
const { default: WebSocket } = (await import(wsModule)) as { default: new (url: string, opts: { headers: Record<string, string> }) => WsLike };

/** When a text message arrived (performance.now(), before its JSON was parsed): the benches time the client's share. */
export interface Arrival {
  receivedAt: number;
}

/**
 * Opens /ws/viewer/<agentId> as the token's user; `onText` sees every JSON message from the first
 * one, `onFrame` every binary one (a page acknowledges them, as the dashboard does).
 */
export async function openViewerSocket(
  baseUrl: string,
  agentId: string,
  token: string,
  onText: (message: { t: string; [k: string]: unknown }, arrival: Arrival) => void,
  o: { onFrame?: (data: Buffer) => void } = {},
): Promise<ViewerSocket> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws/viewer/${agentId}`, {
    headers: { cookie: `gc_session=${encodeURIComponent(token)}`, authorization: `Bearer ${token}` },
  });
  ws.on('message', (raw, binary) => {
    const receivedAt = performance.now();
    if (!binary) onText(JSON.parse(raw.toString('utf8')), { receivedAt });
    else o.onFrame?.(raw);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { send: (d) => ws.send(d), close: () => ws.close(), closed };
}
