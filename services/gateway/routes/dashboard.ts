/**
 * Serves the dashboard: static files from services/dashboard/public and the TypeScript app bundled
 * in memory with esbuild once at start-up (no build step to forget, no stale bundle on disk).
 */
import { readFile, readdir } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { FastifyPluginAsync } from 'fastify';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** Bundles services/dashboard/src/main.ts (and the CSS it imports) into memory. */
export async function bundleDashboard(): Promise<Map<string, { type: string; body: Buffer }>> {
  const out = new Map<string, { type: string; body: Buffer }>();
  const result = await build({
    entryPoints: [join(root, 'src', 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    outdir: '/assets',
    sourcemap: 'linked',
    minify: true,
    logLevel: 'silent',
  });
  for (const f of result.outputFiles) {
    out.set(f.path, { type: TYPES[extname(f.path)] ?? 'application/json', body: Buffer.from(f.contents) });
  }
  return out;
}

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  const assets = await bundleDashboard();
  const publicDir = join(root, 'public');
  for (const name of await readdir(publicDir)) {
    const file = { type: TYPES[extname(name)] ?? 'application/octet-stream', body: await readFile(join(publicDir, name)) };
    assets.set(`/${name}`, file);
    if (name !== 'index.html') {
      app.get(`/${name}`, { schema: { hide: true } }, async (_request, reply) => reply.type(file.type).header('cache-control', 'no-cache').send(file.body));
    }
  }
  const index = assets.get('/index.html');
  const send = (path: string) => assets.get(path);
  app.get('/assets/*', { schema: { hide: true } }, async (request, reply) => {
    const a = send(request.url.split('?')[0]!);
    if (!a) return reply.callNotFound();
    return reply.type(a.type).header('cache-control', 'no-cache').send(a.body);
  });
  // The dashboard is a single page: every non-API path gets index.html.
  for (const path of ['/', '/machines/*', '/audit', '/tokens', '/login', '/mfa']) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index?.body));
  }
  if (!assets.has('/favicon.ico')) {
    app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => {
      const a = send('/favicon.svg');
      return a ? reply.type(a.type).send(a.body) : reply.code(204).send();
    });
  }
};
