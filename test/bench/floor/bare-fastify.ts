/**
 * The commands bench's HTTP floor: the gateway's fastify version with nothing of ours (no hooks, no
 * logger, no schemas, no auth), in a process of its own as the gateway is, answering a POST with a
 * small JSON body as a switch does. Prints its port once listening; SIGTERM ends it.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/api/machines/:agentId/switch-session', async (request) => {
  const body = request.body as { session_id?: number };
  return { ok: true, command_id: 'floor', from_session_id: 0, to_session_id: body.session_id ?? 0, duration_ms: 0 };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(new URL(address).port);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
