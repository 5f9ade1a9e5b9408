/**
 * The technician's switch as the dashboard makes it (services/dashboard/src/viewer): one viewer
 * WebSocket; on open {t:'ack',frames:0} and {t:'watch'}; every frame acknowledged with
 * {t:'ack',frames:1}; {t:'switch',session_id,req} answered by {t:'switched',req}. Each switch is
 * timed as the REST calls are (command-hops.ts): the client's round trip, the gateway's hops (the
 * reply's `server_timing`, GC_SERVER_TIMING=1) and the client's own share of the round trip.
 */
import { openViewerSocket } from '../support/viewer-ws.js';
import { parseServerTiming, type HopSample } from './command-hops.js';

type Reply = { t: string; req?: unknown; server_timing?: unknown; error_code?: unknown; message?: unknown; session_id?: unknown };

export interface BenchViewer {
  /** The session the socket watches (from its `watching` answer). */
  readonly watching: number;
  /** Frames received (and acknowledged) so far. */
  readonly frames: number;
  /** Switches to `sessionId` and resolves with the switch's timings once `switched` is in (rejects on an error reply). */
  switchTo(sessionId: number): Promise<HopSample>;
  close(): void;
}

const REPLY_TIMEOUT_MS = 10_000;

/** Opens a viewer socket as the dashboard does and waits for `watching`. */
export async function openBenchViewer(baseUrl: string, agentId: string, token: string): Promise<BenchViewer> {
  let waiting: { match: (m: Reply) => boolean; done: (m: Reply, receivedAt: number, parsedAt: number) => void; fail: (e: Error) => void } | undefined;
  let frames = 0;
  const ws = await openViewerSocket(
    baseUrl,
    agentId,
    token,
    (m, { receivedAt }) => {
      const parsedAt = performance.now();
      const w = waiting;
      if (!w) return;
      if (w.match(m)) {
        waiting = undefined;
        w.done(m, receivedAt, parsedAt);
      } else if (m.t === 'error' && (m.req === undefined || w.match({ ...m, t: 'switched' }))) {
        waiting = undefined;
        w.fail(new Error(`viewer socket: ${String(m.error_code)} ${String(m.message)}`));
      }
    },
    {
      onFrame: () => {
        frames++;
        ws.send('{"t":"ack","frames":1}');
      },
    },
  );
  const next = (match: (m: Reply) => boolean) =>
    new Promise<{ m: Reply; receivedAt: number; parsedAt: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('viewer socket: no answer within 10 s')), REPLY_TIMEOUT_MS);
      waiting = {
        match,
        done: (m, receivedAt, parsedAt) => {
          clearTimeout(timer);
          resolve({ m, receivedAt, parsedAt });
        },
        fail: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });

  const watchingAnswer = next((m) => m.t === 'watching');
  ws.send(JSON.stringify({ t: 'ack', frames: 0 }));
  ws.send(JSON.stringify({ t: 'watch' }));
  let watching = Number((await watchingAnswer).m.session_id);
  let n = 0;
  return {
    get watching() {
      return watching;
    },
    get frames() {
      return frames;
    },
    async switchTo(sessionId) {
      const req = `sw-${++n}`;
      const answer = next((m) => m.t === 'switched' && m.req === req);
      const t = performance.now();
      ws.send(JSON.stringify({ t: 'switch', session_id: sessionId, req }));
      const sent = performance.now();
      const { m, receivedAt, parsedAt } = await answer;
      watching = sessionId;
      return {
        clientMs: parsedAt - t,
        server: parseServerTiming(typeof m.server_timing === 'string' ? m.server_timing : null),
        clientSideMs: sent - t + (parsedAt - receivedAt),
        requestSentMs: performance.timeOrigin + sent,
        responseHeadersMs: performance.timeOrigin + receivedAt,
      };
    },
    close: () => ws.close(),
  };
}
