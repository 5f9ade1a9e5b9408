/**
 * The commands bench's WebSocket floor: the gateway's fastify and @fastify/websocket with nothing of
 * ours (no hooks, no logger, no auth, no bus), in a process of its own as the gateway is, answering
 * the dashboard's messages on /ws/viewer/:agentId as a viewer socket does: `watch` with `watching`,
 * `switch` with `switched` at once. Prints its port once listening; SIGTERM ends it.
 */
import websocket from '@fastify/websocket';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
await app.register(websocket);
app.get('/ws/viewer/:agentId', { websocket: true }, (socket) => {
  socket.on('message', (raw: Buffer) => {
    const m = JSON.parse(raw.toString('utf8')) as { t?: string; session_id?: number; req?: string };
    if (m.t === 'watch') socket.send(JSON.stringify({ t: 'watching', session_id: m.session_id ?? 0, control: true }));
    else if (m.t === 'switch') socket.send(JSON.stringify({ t: 'switched', ok: true, from: 0, to: m.session_id ?? 0, duration_ms: 0, command_id: 'floor', clipboard_cleared: true, req: m.req }));
  });
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(new URL(address).port);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
