/** The one viewer WebSocket of a visit: typed JSON control messages out, JSON and binary frames in. */
import type { ClientMessage } from '../../../gateway/ws/protocol.js';
import { wsUrl } from '../api.js';
import type { ServerMessage } from '../types.js';

export type { ClientMessage };

export interface ViewerConnection {
  /** Id of this socket instance, made in the browser: a reconnect would change it. */
  readonly socketId: string;
  readonly ws: WebSocket;
  send(m: ClientMessage): boolean;
  close(): void;
}

export interface ViewerHandlers {
  open(): void;
  message(m: ServerMessage): void;
  frame(data: ArrayBuffer): void;
  closed(code: number, reason: string): void;
}

/** Opens /ws/viewer/:agentId. */
export function openViewerConnection(agentId: string, handlers: ViewerHandlers): ViewerConnection {
  const ws = new WebSocket(wsUrl(`/ws/viewer/${encodeURIComponent(agentId)}`));
  ws.binaryType = 'arraybuffer';
  const socketId = crypto.randomUUID();
  ws.onopen = () => handlers.open();
  ws.onmessage = (e) => {
    if (e.data instanceof ArrayBuffer) return handlers.frame(e.data);
    try {
      handlers.message(JSON.parse(String(e.data)) as ServerMessage);
    } catch {
      // Not JSON: nothing the UI can do with it.
    }
  };
  ws.onclose = (e) => handlers.closed(e.code, e.reason);
  const send = (m: ClientMessage) => {
    if (ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(m));
    return true;
  };
  return { socketId, ws, send, close: () => ws.close(1000, 'page left') };
}
