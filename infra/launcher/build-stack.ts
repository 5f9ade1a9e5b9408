/**
 * The stack's processes as plain JavaScript, so that they run on bare `node`: no TypeScript loader
 * in each of them (tsx kept an esbuild service process beside every Node process, and its loader
 * thread), no esbuild in the gateway (the dashboard is prebuilt here). One ESM file per entry
 * (esbuild, npm packages left external and loaded from node_modules), the migrations beside them
 * (infra/db/migrate.ts reads `migrations/` next to the running script), the dashboard in
 * `dashboard/`. Output: dist/stack/<hash of the sources>/, built again only when a source changed;
 * several processes may build at once (each builds into its own directory and renames it in place).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildThenStop } from '../build/esbuild-then-stop.js';
import { writeDashboard } from '../../services/gateway/routes/dashboard.js';

/** The processes the launcher starts, by the source file each one runs. */
export const STACK_ENTRIES = {
  launcher: 'infra/launcher/main.ts',
  server: 'infra/launcher/server.ts',
  gateway: 'services/gateway/server.ts',
  projections: 'projections/main.ts',
  agent: 'agent/main.ts',
} as const;
export type StackEntry = keyof typeof STACK_ENTRIES;

/** What decides the build: every file in these folders, and these files. */
const INPUT_DIRS = ['agent', 'services', 'projections', 'infra', 'proto'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];
/** Bumped when the build's options change (they are not in a hashed file's content when this file moves). */
const BUILD_FORMAT = '3';
const MARKER = '.complete';
/** Packages left in node_modules: native code (koffi, sharp), files read beside their code (swagger's package.json, swagger-ui's pages), build tools. */
const EXTERNAL_PACKAGES = ['koffi', '@koromix/*', 'sharp', 'pg-native', '@fastify/swagger', '@fastify/swagger-ui', 'esbuild', 'tsx'];
const CJS_SHIM = [
  "import { createRequire as __gcCreateRequire } from 'node:module';",
  "import { fileURLToPath as __gcFileURLToPath } from 'node:url';",
  'const require = __gcCreateRequire(import.meta.url);',
  'const __filename = __gcFileURLToPath(import.meta.url);',
  "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
].join(' ');
/** Builds older than this, other than the newest few, are removed when a new one is made. */
const KEEP_NEWEST = 3;
const KEEP_MS = 3_600_000;

export interface StackBuild {
  /** dist/stack/<hash>. */
  readonly dir: string;
  /** The built script of an entry, to run with `node`. */
  script(entry: StackEntry): string;
}

/** The repository root: the nearest folder above this file that holds package.json and infra/launcher (source or dist/stack/<hash>). */
export function repoRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'infra', 'launcher'))) return d;
  }
  throw new Error(`no repository (package.json and infra/launcher) above ${from}`);
}

/** A hash of every input file's path and content (sorted), and of the build format. */
export function sourceHash(repo: string): string {
  const files: string[] = INPUT_FILES.map((f) => join(repo, f)).filter((f) => existsSync(f));
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  for (const d of INPUT_DIRS) if (existsSync(join(repo, d))) walk(join(repo, d));
  const h = createHash('sha256').update(`format ${BUILD_FORMAT}\0`);
  for (const f of files.sort())
    h.update(`${relative(repo, f)}\0`)
      .update(readFileSync(f))
      .update('\0');
  return h.digest('hex').slice(0, 20);
}

const handle = (dir: string): StackBuild => ({ dir, script: (entry) => join(dir, `${entry}.js`) });

/** The build of the current sources: made now if missing (esbuild is loaded only then, and stopped after). */
export async function buildStack(opts: { repo?: string; log?: (line: string) => void } = {}): Promise<StackBuild> {
  const repo = opts.repo ?? repoRoot();
  const root = join(repo, 'dist', 'stack');
  const dir = join(root, sourceHash(repo));
  if (existsSync(join(dir, MARKER))) return handle(dir);
  opts.log?.(`building the services into ${relative(repo, dir)}`);
  mkdirSync(root, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    const migrations = readdirSync(join(repo, 'infra', 'db', 'migrations')).filter((f) => /^\d{4}_.*\.ts$/.test(f) && !f.endsWith('.d.ts'));
    await buildThenStop({
      entryPoints: {
        ...Object.fromEntries(Object.entries(STACK_ENTRIES).map(([name, src]) => [name, join(repo, src)])),
        ...Object.fromEntries(migrations.map((f) => [`migrations/${f.replace(/\.ts$/, '')}`, join(repo, 'infra', 'db', 'migrations', f)])),
      },
      outdir: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // npm packages are bundled too: a package loaded as hundreds of ES modules costs far more memory
      // than the same code in one script (kysely: 15 MiB against 3). Native ones and those that read
      // files beside their own code stay in node_modules.
      external: EXTERNAL_PACKAGES,
      // CommonJS packages inside an ES module still ask for require, __filename and __dirname.
      banner: { js: CJS_SHIM },
      // V8 keeps every script's source text in the heap: without whitespace it is half the size.
      // Names stay (stack traces in the logs still say which function); the source map maps lines back.
      minifyWhitespace: true,
      minifySyntax: true,
      sourcemap: 'linked',
      logLevel: 'error',
    });
    await writeDashboard(join(tmp, 'dashboard'), join(repo, 'services', 'dashboard'));
    writeFileSync(join(tmp, MARKER), `${new Date().toISOString()}\n`);
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process finished the same build first: use that one.
      if (!existsSync(join(dir, MARKER))) throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  prune(root, dir);
  return handle(dir);
}

/** Removes old builds (and abandoned temporary ones), keeping the newest few and anything younger than an hour. */
function prune(root: string, current: string): void {
  const now = Date.now();
  const builds = readdirSync(root)
    .map((name) => ({ path: join(root, name), mtime: statSync(join(root, name)).mtimeMs }))
    .filter((b) => b.path !== current)
    .sort((a, b) => b.mtime - a.mtime);
  builds.forEach((b, i) => {
    if ((i >= KEEP_NEWEST - 1 || b.path.includes('.tmp-')) && now - b.mtime > KEEP_MS) rmSync(b.path, { recursive: true, force: true });
  });
}
