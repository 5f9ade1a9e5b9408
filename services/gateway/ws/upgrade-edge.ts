/**
 * The WebSocket routes' edge, in the envelope like every other refusal: a plain HTTP request to a
 * socket route (no upgrade) gets 426, and a handshake the ws library refuses (wrong method, Upgrade
 * header, Sec-WebSocket-Key, -Version, -Protocol or -Extensions) gets its 4xx as the envelope on the
 * raw socket. Without this, the first answered an empty 404 and the second a text/html page.
 */
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../../proto/errors.js';
import { envelope, writeRawEnvelope } from '../errors.js';

/** The HTTP handler of a socket route: only an upgrade is served there. */
export async function upgradeRequired(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(426)
    .header('upgrade', 'websocket')
    .send(envelope(ErrorCode.VALIDATION_FAILED, `${request.routeOptions.url} is a WebSocket: open it with an upgrade (new WebSocket(url))`, String(request.id)));
}

/** Statuses of the ws library's refusals (it names them by message only when it lets us answer). */
const refusals: [RegExp, number, Record<string, string>][] = [
  [/method/i, 405, { Allow: 'GET' }],
  [/version/i, 400, { 'Sec-WebSocket-Version': '13, 8' }],
];

/** Answers the handshakes the ws library refuses; call once after @fastify/websocket is registered. */
export function installWebSocketHandshakeErrors(app: FastifyInstance): void {
  app.websocketServer.on('wsClientError', (error: Error, socket: Duplex) => {
    const [, status, headers] = refusals.find(([re]) => re.test(error.message)) ?? [undefined, 400, {}];
    app.log.info({ reason: error.message }, 'WebSocket handshake refused');
    writeRawEnvelope(socket, status, ErrorCode.VALIDATION_FAILED, `WebSocket handshake refused: ${error.message}`, headers);
  });
}
