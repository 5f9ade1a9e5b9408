/**
 * What a browser is told and checked for (issue 16 item 4): a Content-Security-Policy that fits the
 * dashboard, no MIME sniffing, no referrer, no framing, HSTS on HTTPS, and WebSocket upgrades only
 * from the gateway's own origin (a non-browser client sends no Origin and is judged by its token).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../proto/errors.js';
import { envelope } from './errors.js';

/**
 * The dashboard's policy. Scripts only from our own origin (the esbuild bundle; no inline script, no
 * eval). Styles also inline: xterm.js's DOM renderer writes <style> elements and style attributes at
 * run time, and Swagger UI sets style attributes; nothing of ours does. Images from data: (the QR
 * code of the second-factor set-up) and blob: (live-view tiles). connect-src 'self' covers the
 * same-origin ws:/wss: sockets.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const HSTS = 'max-age=31536000';

/** The origin the browser shows for this gateway: scheme (X-Forwarded-Proto only with GC_TRUST_PROXY) and Host. */
export function ownOrigin(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}`.toLowerCase();
}

/** Installs the response headers; call before any route is registered, so every answer has them. */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (req.protocol === 'https') reply.header('strict-transport-security', HSTS);
  });
}

/**
 * Installs the WebSocket Origin check. Call after @fastify/websocket is registered (its own
 * onRequest hook must run first, or a refused upgrade's socket is never closed) and before the
 * auth plugin (an upgrade from elsewhere is refused before any token is looked at).
 */
export function installWebSocketOriginCheck(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') return;
    const origin = req.headers.origin;
    // Cross-site WebSocket hijacking: a page elsewhere may open a socket to us with the user's cookie.
    if (origin !== undefined && origin.toLowerCase() !== ownOrigin(req)) {
      req.log.warn({ origin }, 'WebSocket upgrade from another origin refused');
      return reply.code(403).send(envelope(ErrorCode.ORIGIN_REFUSED, `a WebSocket from origin ${origin.slice(0, 200)} is refused: open the dashboard from ${ownOrigin(req)}`, String(req.id)));
    }
  });
}
