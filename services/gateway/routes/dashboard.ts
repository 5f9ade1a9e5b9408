/**
 * Serves the dashboard: the static files of services/dashboard/public and the TypeScript app bundled
 * by esbuild. A built stack (infra/launcher/build-stack.ts) carries both as files in `dashboard/`
 * beside the gateway's script, read once at start, and the gateway never loads esbuild; run from
 * source, the gateway bundles the app in memory once and stops esbuild's service process after.
 */
import { existsSync } from 'node:fs';
import { cp, readFile, readdir } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import type { FastifyPluginAsync } from 'fastify';
import { buildThenStop } from '../../../infra/build/esbuild-then-stop.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The dashboard's sources (services/dashboard), as seen from this file in the source tree. */
const sourceRoot = join(here, '..', '..', 'dashboard');
/** Where a built stack puts the prebuilt dashboard: `dashboard/` beside the bundled script. */
const PREBUILT_DIR = 'dashboard';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

type Asset = { type: string; body: Buffer };

/** The esbuild options of the dashboard app (services/dashboard/src/main.ts and the CSS it imports): one set for memory and disk. */
export function dashboardBuildOptions(outdir: string, source = sourceRoot): BuildOptions {
  return { entryPoints: [join(source, 'src', 'main.ts')], bundle: true, format: 'esm', target: 'es2022', outdir, sourcemap: 'linked', minify: true, logLevel: 'silent' };
}

/** Writes the prebuilt dashboard (bundle in `assets/`, static files in `public/`) into `dir`, from the sources in `source` (services/dashboard). */
export async function writeDashboard(dir: string, source = sourceRoot): Promise<void> {
  await buildThenStop({ ...dashboardBuildOptions(join(dir, 'assets'), source), write: true });
  await cp(join(source, 'public'), join(dir, 'public'), { recursive: true });
}

let bundled: Promise<Map<string, Asset>> | undefined;

/** Bundles the app into memory, once per process (esbuild stopped after); keys are `/assets/<file>`. */
export function bundleDashboard(): Promise<Map<string, Asset>> {
  bundled ??= buildThenStop({ ...dashboardBuildOptions('/assets'), write: false }).then(
    (result) => new Map(result.outputFiles.map((f) => [f.path, { type: TYPES[extname(f.path)] ?? 'application/json', body: Buffer.from(f.contents) }])),
    (e: Error) => {
      bundled = undefined;
      throw e;
    },
  );
  return bundled;
}

/** Reads every file of `dir` into assets keyed `<prefix>/<name>`. */
async function readAssets(dir: string, prefix: string, into: Map<string, Asset>): Promise<void> {
  for (const name of await readdir(dir)) {
    into.set(`${prefix}/${name}`, { type: TYPES[extname(name)] ?? (prefix === '/assets' ? 'application/json' : 'application/octet-stream'), body: await readFile(join(dir, name)) });
  }
}

/** The app's assets and the static files: prebuilt beside a built gateway, else bundled from source. */
async function loadDashboard(): Promise<{ assets: Map<string, Asset>; statics: Map<string, Asset> }> {
  const prebuilt = join(here, PREBUILT_DIR);
  const statics = new Map<string, Asset>();
  if (existsSync(join(prebuilt, 'assets'))) {
    const assets = new Map<string, Asset>();
    await readAssets(join(prebuilt, 'assets'), '/assets', assets);
    await readAssets(join(prebuilt, 'public'), '', statics);
    return { assets, statics };
  }
  await readAssets(join(sourceRoot, 'public'), '', statics);
  return { assets: new Map(await bundleDashboard()), statics };
}

export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  const { assets, statics } = await loadDashboard();
  for (const [path, file] of statics) {
    assets.set(path, file);
    if (path !== '/index.html') {
      app.get(path, { schema: { hide: true } }, async (_request, reply) => reply.type(file.type).header('cache-control', 'no-cache').send(file.body));
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
