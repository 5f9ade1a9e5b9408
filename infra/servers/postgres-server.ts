/**
 * Starts a private PostgreSQL cluster (initdb into `dir`, loopback on a free port).
 * As root, the cluster runs as the `postgres` system user, because postgres refuses to run as root.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { type Child, startChild } from './child.js';
import { freePort, waitForPort } from './free-port.js';

/**
 * A private cluster serves one local stack (a few hundred kB of read models): sized for that, not for
 * Debian's defaults. The postmaster initializes its shared structures at start (buffer descriptors
 * for every shared buffer, lock tables for every connection), and those pages count against the
 * stack's memory at rest. 16 MB of shared buffers hold the whole database many times over; no
 * logical replication is used, so its launcher process is not started.
 */
const SMALL_CLUSTER = ['shared_buffers=16MB', 'max_logical_replication_workers=0', 'max_worker_processes=2', 'max_parallel_workers=0', 'max_parallel_workers_per_gather=0'];

export interface PostgresServerOptions {
  dir: string;
  port?: number;
  /** Trade durability for speed (tests and benchmarks of our code, not of the disk). */
  fast?: boolean;
}

export interface PostgresServer {
  readonly url: string;
  readonly port: number;
  readonly child: Child;
  stop(): Promise<void>;
}

/** Finds Debian's PostgreSQL binaries (newest major first), then PATH. */
export function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const majors = readdirSync(base)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const m of majors) if (existsSync(join(base, m, 'bin', 'initdb'))) return join(base, m, 'bin');
  }
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('PostgreSQL not found: install it with `apt-get install -y postgresql`');
  }
}

/** As root: the `postgres` user's ids, so the server runs as it (signals then reach postgres itself). */
function postgresIds(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function ownForPostgres(path: string): void {
  const ids = postgresIds();
  if (ids) chownSync(path, ids.uid, ids.gid);
}

/**
 * The postgres user must be able to walk down to its directory: give others search (x, not read)
 * permission on ancestors that lack it, e.g. a 0700 temporary or data directory made by root.
 */
function letPostgresTraverse(path: string): void {
  if (!postgresIds()) return;
  for (let p = dirname(path); p !== dirname(p); p = dirname(p)) {
    const mode = statSync(p).mode;
    if ((mode & 0o001) === 0) chmodSync(p, (mode & 0o7777) | 0o001);
  }
}

export async function startPostgresServer(opts: PostgresServerOptions): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const pgdata = join(opts.dir, 'pgdata');
  const sockDir = join(opts.dir, 'sock');
  mkdirSync(opts.dir, { recursive: true });
  mkdirSync(sockDir, { recursive: true });
  letPostgresTraverse(opts.dir);
  ownForPostgres(opts.dir);
  ownForPostgres(sockDir);
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    execFileSync(join(bin, 'initdb'), ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], {
      stdio: 'pipe',
      cwd: opts.dir,
      ...postgresIds(),
    });
  }
  const port = opts.port ?? (await freePort());
  const settings = [
    '-p',
    String(port),
    '-k',
    sockDir,
    '-h',
    '127.0.0.1',
    ...SMALL_CLUSTER.flatMap((setting) => ['-c', setting]),
    // Tests and benchmarks open pools of their own beside the services' (and load tests many).
    '-c',
    `max_connections=${opts.fast ? 200 : 40}`,
    ...(opts.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];
  const child = startChild(join(bin, 'postgres'), ['-D', pgdata, ...settings], { logFile: join(opts.dir, 'postgres.log'), cwd: opts.dir, ...postgresIds() });
  const failed = child.exited.then((code) => {
    throw new Error(`postgres exited with ${code}; see ${join(opts.dir, 'postgres.log')}`);
  });
  await Promise.race([waitForPort(port, 30_000), failed]);
  failed.catch(() => {});
  // The port opens a moment before the server accepts logins; wait for a real answer.
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitForLogin(url);
  // SIGINT is postgres' fast shutdown: it does not wait for clients to disconnect.
  return { url, port, child, stop: () => child.stop(10_000, 'SIGINT') };
}

async function waitForLogin(url: string): Promise<void> {
  const pg = await import('pg');
  for (let i = 0; i < 100; i++) {
    const c = new pg.default.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return;
    } catch {
      await c.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`postgres at ${url} never accepted a login`);
}
