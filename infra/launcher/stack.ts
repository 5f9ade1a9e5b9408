/**
 * Starts the whole system on one machine: nats-server (JetStream, decentralized auth), PostgreSQL
 * (a private cluster, or DATABASE_URL), migrations and streams, the projection workers, the gateway
 * and a local agent. Used by `npm start` and by the end-to-end tests. All state lives under `dataDir`.
 * The services run as built JavaScript on bare `node` (build-stack.ts); the gateway and the
 * projections share one server process (server.ts), or run inside this process ('launcher', what
 * infra/up.sh does), or each in its own ('separate', as a scaled-out deployment does).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Kysely } from 'kysely';
import { auditRetentionConfig } from '../../projections/audit/retention-config.js';
import type { Role } from '../../services/auth/roles.js';
import { newEventIdKey } from '../../services/gateway/bus/event-ids.js';
import { createUser, findUserByName } from '../../services/auth/users.js';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreamsWhenReady } from '../bus/streams.js';
import { openDb } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import { migrateToLatest } from '../db/migrate.js';
import { type NatsAuthSetup, prepareNatsAuth } from '../nats-auth/setup.js';
import { writeSecret } from '../nats-auth/secret-files.js';
import { type Child, startChild } from '../servers/child.js';
import { STACK_ENTRIES, type StackEntry, buildStack, repoRoot } from './build-stack.js';
import type { RunningServer } from './start-server.js';
import { prepareGatewayHttps, probeHealth } from './https-cert.js';
import { freePort } from '../servers/free-port.js';
import { type NatsCluster, startNatsCluster } from '../servers/nats-cluster.js';
import { type NatsServer, startNatsServer } from '../servers/nats-server.js';
import { type PostgresServer, startPostgresServer } from '../servers/postgres-server.js';
import { natsTlsFiles } from '../servers/tls-ca.js';

const repo = repoRoot();

/**
 * Where the gateway and the projection workers run: inside the launcher's own process ('launcher',
 * what `bash infra/up.sh` does: the libraries the launcher loaded for its set-up serve them too), in
 * one server process beside it ('shared', the default here: tests kill and restart it), or each in
 * its own process ('separate', as a scaled-out deployment runs them).
 */
export type ServerProcesses = 'launcher' | 'shared' | 'separate';
/**
 * A young generation of at most 2 MiB per semi-space for the agent (and, in infra/up.sh, the
 * launcher): V8 grows it (to 16 MiB) in the allocation burst of the start and never gives it back at rest.
 */
const SMALL_YOUNG_GENERATION = ['--max-semi-space-size=2'];

/** What the service processes run: the built JavaScript (default), or the TypeScript sources through tsx (as before; slower to start, larger). */
export type ServiceRuntime = 'built' | 'source';

export interface StackOptions {
  dataDir: string;
  /** Gateway port; 0 picks a free one. */
  port?: number;
  /** Use this PostgreSQL instead of a private cluster. */
  databaseUrl?: string;
  /** Start a local agent (default true). */
  agent?: boolean;
  agentId?: string;
  heartbeatMs?: number;
  /** Fast, non-durable Postgres settings (tests and benchmarks). */
  fastPostgres?: boolean;
  log?: (line: string) => void;
  /** Extra environment for every service process. */
  env?: NodeJS.ProcessEnv;
  /** Event stream retention in days; 0 or absent keeps every event (the audit trail) forever. */
  eventRetentionDays?: number;
  /** Postgres audit retention in days (GC_AUDIT_RETENTION_DAYS for the projections process); 0 keeps every row. */
  auditRetentionDays?: number;
  /** Three nats-servers in a cluster with the event stream at 3 replicas (docs/RELIABILITY.md). */
  cluster?: boolean;
  /** Gateway and projections in the launcher's process, in one process of their own ('shared', default) or each in its own. */
  serverProcesses?: ServerProcesses;
  /** Built JavaScript (default) or the sources through tsx. */
  runtime?: ServiceRuntime;
  /**
   * The local agent idles with the single-file binary's V8 settings (agent/binary/v8-flags.ts: no
   * optimizing compiler at rest, V8's defaults while it captures): `bash infra/up.sh` sets it, for
   * memory at rest. Tests and benches leave it off: their figures stay those of V8's defaults.
   */
  agentV8Footprint?: boolean;
}

export interface Stack {
  url: string;
  natsUrl: string;
  /** Every node's client URL (one unless `cluster`). */
  natsUrls: string[];
  /** The CA file NATS clients verify the servers against (TLS is always on: <dataDir>/tls, or GC_TLS_CA). */
  natsCa: string;
  databaseUrl: string;
  /** The NATS auth directory (prepareNatsAuth(natsAuthDir).issueAgentCreds for simulated agents). */
  natsAuthDir: string;
  /** The cluster's nodes, when started with `cluster`. */
  cluster: NatsCluster | undefined;
  agentId: string | undefined;
  /** Set when the launcher made a self-signed HTTPS certificate (GC_HTTPS=1): printed with the URL. */
  httpsNote?: string;
  /** The first admin; its password is printed on first start and kept in <dataDir>/admin-password. */
  admin: { name: string; password: string };
  /** Creates a technician with a generated password (tests, demos). */
  createUser(name: string, role: Role): Promise<{ name: string; password: string }>;
  /** Path to a .creds file for a service kind (automation, auditor) — for CLI tools and tests. */
  credsFor(kind: 'automation' | 'auditor' | 'launcher' | 'gateway' | 'projections'): Promise<string>;
  /** The service processes by name: gateway, projections, agent (and server: in the 'shared' layout gateway and projections are that one process; in the 'launcher' layout they are no child at all). */
  services: Record<string, Child>;
  /** Restarts one service (fault tests); unless 'separate', gateway and projections restart together. */
  restart(name: 'gateway' | 'projections' | 'agent'): Promise<void>;
  /** Stops the single nats-server (fault tests); startNats brings it back on the same port and store. */
  stopNats(kill?: boolean): Promise<void>;
  startNats(): Promise<void>;
  /** Stops the private PostgreSQL (fault tests); startPostgres brings it back on the same port and data. */
  stopPostgres(): Promise<void>;
  startPostgres(): Promise<void>;
  stop(): Promise<void>;
}

export function defaultAgentId(): string {
  return (
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 64) || 'local-agent'
  );
}

async function waitForHealth(url: string, child: Child | undefined, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.proc.exitCode !== null) throw new Error(`gateway exited with ${child.proc.exitCode}; see ${logFile}`);
    const ok = await probeHealth(url);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`gateway did not become healthy within ${timeoutMs} ms; see ${logFile}`);
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const log = opts.log ?? (() => {});
  const dataDir = opts.dataDir;
  // The projections process reads its retention itself; a bad value must stop the start here, not
  // end that child unseen.
  const auditRetentionEnv = opts.auditRetentionDays === undefined ? {} : { GC_AUDIT_RETENTION_DAYS: String(opts.auditRetentionDays) };
  const auditRetention = auditRetentionConfig({ ...process.env, ...opts.env, ...auditRetentionEnv });
  if (!auditRetention.ok) throw new Error(auditRetention.error.message);
  mkdirSync(join(dataDir, 'logs'), { recursive: true });
  const layout = opts.serverProcesses ?? 'shared';
  // Built first: a build error stops the start before any server runs.
  const build = (opts.runtime ?? 'built') === 'built' ? await buildStack({ repo, log }) : undefined;
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    cleanups.length = 0;
  };
  try {
    // TLS for every NATS connection: the operator's GC_TLS_* files, else a private CA made here.
    const tls = await natsTlsFiles(join(dataDir, 'tls'), { ...process.env, ...opts.env }, log);
    log('preparing NATS credentials');
    const auth = await prepareNatsAuth(join(dataDir, 'nats-auth'), { caFile: tls.caFile });
    let nats: NatsServer | undefined;
    let cluster: NatsCluster | undefined;
    let natsUrls: string[];
    if (opts.cluster) {
      log('starting a 3-node NATS cluster');
      cluster = await startNatsCluster({ dir: join(dataDir, 'nats-cluster'), tls, extraConfig: (nodeDir) => auth.configFragment(join(nodeDir, 'resolver')) });
      cleanups.push(() => cluster!.stop());
      natsUrls = cluster.urls;
    } else {
      log('starting nats-server');
      nats = await startNatsServer({ dir: join(dataDir, 'nats'), extraConfig: auth.serverConfig, tls });
      cleanups.push(() => nats?.stop() ?? Promise.resolve());
      natsUrls = [nats.url];
    }
    const natsPort = nats?.port;
    // Services take one URL and learn the other cluster nodes from the server (client_advertise).
    const natsUrl = natsUrls[0]!;

    let databaseUrl = opts.databaseUrl;
    let pg: PostgresServer | undefined;
    let pgPort: number | undefined;
    if (!databaseUrl) {
      log('starting PostgreSQL');
      pg = await startPostgresServer({ dir: join(dataDir, 'postgres'), fast: opts.fastPostgres });
      pgPort = pg.port;
      cleanups.push(() => pg?.stop() ?? Promise.resolve());
      databaseUrl = pg.url;
    }

    const db = openDb({ url: databaseUrl, max: 2, applicationName: 'gc-launcher' });
    cleanups.push(() => db.destroy());
    const applied = await migrateToLatest(db);
    if (applied.length) log(`migrations applied: ${applied.join(', ')}`);
    const launcherCreds = await auth.credsFor('launcher');
    const nc = await connectBus({ servers: natsUrls, name: 'launcher', credsFile: launcherCreds, caFile: tls.caFile });
    await ensureStreamsWhenReady(nc, { replicas: cluster ? 3 : 1, maxAgeSecs: Math.round((opts.eventRetentionDays ?? 0) * 86_400) }, { onWait: log });
    await nc.close();
    // Auditors' tools find their credentials here with no settings (infra/launcher/cli.ts).
    await auth.credsFor('auditor');

    // First run: one admin with a generated password, written owner-only and shown once.
    const adminFile = join(dataDir, 'admin-password');
    let admin = { name: 'admin', password: '' };
    if (!(await findUserByName(db, 'admin'))) {
      admin.password = randomBytes(12).toString('base64url');
      const r = await createUser(db, { name: 'admin', role: 'admin', password: admin.password });
      if (!r.ok) throw new Error(`could not create the first admin: ${r.error.message}`);
      // writeSecret makes the parent 0700; keep the search bit startPostgresServer gave the data
      // directory, or postgres (its own user) cannot reach pg_control at shutdown and PANICs.
      const mode = statSync(dataDir).mode & 0o7777;
      await writeSecret(adminFile, `${admin.password}\n`);
      chmodSync(dataDir, mode);
    } else if (existsSync(adminFile)) {
      admin = { name: 'admin', password: readFileSync(adminFile, 'utf8').trim() };
    }

    // One key for every gateway of this data directory: keyed event ids (services/gateway/bus/event-ids.ts).
    const eventIdKeyFile = join(dataDir, 'nats-auth', 'event-id.key');
    if (!existsSync(eventIdKeyFile)) await writeSecret(eventIdKeyFile, newEventIdKey());

    const port = opts.port || (await freePort());
    // HTTPS only when asked (GC_HTTPS=1 or GC_HTTPS_CERT/KEY): see https-cert.ts for why HTTP stays the local default.
    const https = await prepareGatewayHttps(dataDir, { ...process.env, ...opts.env });
    const url = `${https ? 'https' : 'http'}://127.0.0.1:${port}`;
    const baseEnv = { ...process.env, ...opts.env, NATS_URL: natsUrl, NATS_CA: tls.caFile, DATABASE_URL: databaseUrl };
    const command = (entry: StackEntry, nodeArgs: string[] = []): [string, string[]] =>
      build ? [process.execPath, [...nodeArgs, build.script(entry)]] : [process.execPath, [...nodeArgs, '--import', 'tsx', join(repo, STACK_ENTRIES[entry])]];
    const services: Record<string, Child> = {};
    const gatewayEnv = { PORT: String(port), GC_NATS_AUTH_DIR: join(dataDir, 'nats-auth'), GC_EVENT_ID_KEY_FILE: eventIdKeyFile, ...https?.env };
    const logFile = (name: string) => join(dataDir, 'logs', `${name}.log`);
    // Decoding thousands of events a second is allocation-heavy: a larger young generation spends far
    // less time in garbage collection (measured ~29% of the worker's CPU). The processes that hold the
    // projections here (tests and load benchmarks) keep it; `bash infra/up.sh`, with the projections
    // in the launcher's process, keeps its young generation small (infra/up.sh), as memory at rest
    // matters there and V8 never shrinks it back.
    const projectionsNodeArgs = ['--max-semi-space-size=32'];
    type Spec = { entry: StackEntry; env: NodeJS.ProcessEnv; nodeArgs?: string[]; logFile: string };
    const specs: Record<string, () => Promise<Spec>> = {};
    if (layout === 'separate') {
      specs.projections = async () => ({
        entry: 'projections',
        nodeArgs: projectionsNodeArgs,
        env: { ...baseEnv, ...auditRetentionEnv, NATS_CREDS: await auth.credsFor('projections') },
        logFile: 'projections',
      });
      specs.gateway = async () => ({ entry: 'gateway', env: { ...baseEnv, ...gatewayEnv, NATS_CREDS: await auth.credsFor('gateway') }, logFile: 'gateway' });
    } else if (layout === 'shared') {
      // The server's stdout and stderr are the gateway's log; the projections write theirs to GC_PROJECTIONS_LOG_FILE.
      specs.server = async () => ({
        entry: 'server',
        nodeArgs: projectionsNodeArgs,
        env: {
          ...baseEnv,
          ...gatewayEnv,
          ...auditRetentionEnv,
          GC_GATEWAY_NATS_CREDS: await auth.credsFor('gateway'),
          GC_PROJECTIONS_NATS_CREDS: await auth.credsFor('projections'),
          GC_PROJECTIONS_LOG_FILE: logFile('projections'),
        },
        logFile: 'gateway',
      });
    }
    // The 'launcher' layout: the server runs here, in this process (started below, before the agent).
    let inProcess: RunningServer | undefined;
    const startInProcess = async () => {
      const { startServer } = await import('./start-server.js');
      inProcess = await startServer({
        env: { ...baseEnv, ...gatewayEnv, ...auditRetentionEnv },
        gatewayCreds: await auth.credsFor('gateway'),
        projectionsCreds: await auth.credsFor('projections'),
        gatewayLog: logFile('gateway'),
        projectionsLog: logFile('projections'),
      });
    };
    const agentId = opts.agent === false ? undefined : (opts.agentId ?? defaultAgentId());
    if (agentId) {
      const credsFile = join(dataDir, 'agent', `${agentId}.creds`);
      await ensureLocalAgentIdentity(auth, db, agentId, credsFile);
      specs.agent = async () => ({
        entry: 'agent',
        nodeArgs: SMALL_YOUNG_GENERATION,
        env: {
          ...baseEnv,
          GC_AGENT_ID: agentId,
          GC_AGENT_CREDS: credsFile,
          GC_NATS_CA: tls.caFile,
          ...(opts.heartbeatMs ? { GC_HEARTBEAT_MS: String(opts.heartbeatMs) } : {}),
          ...(opts.agentV8Footprint ? { GC_AGENT_V8_FOOTPRINT: '1' } : {}),
        },
        logFile: 'agent',
      });
    }
    const launch = async (name: string) => {
      const spec = await specs[name]!();
      const [cmd, args] = command(spec.entry, spec.nodeArgs);
      services[name] = startChild(cmd, args, { logFile: logFile(spec.logFile), env: spec.env, cwd: repo });
      // One process, three names: tests and tools address the gateway and the projections as before.
      if (name === 'server') services.gateway = services.projections = services.server!;
    };
    if (layout === 'launcher') {
      log('starting gateway and projections (in this process)');
      await startInProcess();
      cleanups.push(async () => inProcess?.stop());
    }
    for (const name of Object.keys(specs)) {
      log(`starting ${name === 'server' ? 'gateway and projections (one process)' : name}`);
      await launch(name);
      cleanups.push(() => services[name]!.stop());
    }
    await waitForHealth(url, services.gateway, logFile('gateway'));
    // Where the CLI tools find the running stack (no secrets: credentials stay in nats-auth/).
    writeFileSync(join(dataDir, 'stack.json'), `${JSON.stringify({ url, natsUrl, natsCa: tls.caFile, databaseUrl, agentId }, null, 2)}\n`);

    return {
      url,
      natsUrl,
      natsUrls,
      natsCa: tls.caFile,
      databaseUrl,
      natsAuthDir: auth.dir,
      cluster,
      agentId,
      httpsNote: https?.note,
      admin,
      services,
      credsFor: (kind) => auth.credsFor(kind),
      async createUser(name, role) {
        const password = randomBytes(12).toString('base64url');
        const r = await createUser(db, { name, role, password });
        if (!r.ok) throw new Error(r.error.message);
        return { name, password };
      },
      async restart(name) {
        if (layout === 'launcher' && name !== 'agent') {
          await inProcess?.stop();
          await startInProcess();
          return;
        }
        const processName = layout === 'shared' && name !== 'agent' ? 'server' : name;
        await services[processName]?.stop();
        await launch(processName);
        if (processName !== 'agent' && processName !== 'projections') await waitForHealth(url, services.gateway, logFile('gateway'));
      },
      async stopNats(kill = false) {
        if (!nats) throw new Error('stopNats needs the single-server stack (use cluster.stopNode)');
        await nats.child.stop(kill ? 0 : 5000, kill ? 'SIGKILL' : 'SIGTERM');
      },
      async startNats() {
        if (!nats || (nats.child.proc.exitCode === null && nats.child.proc.signalCode === null)) return;
        nats = await startNatsServer({ dir: join(dataDir, 'nats'), port: natsPort, extraConfig: auth.serverConfig, tls });
      },
      async stopPostgres() {
        if (!pg) throw new Error('stopPostgres needs the private PostgreSQL (no databaseUrl option)');
        await pg.stop();
      },
      async startPostgres() {
        if (!pg || (pg.child.proc.exitCode === null && pg.child.proc.signalCode === null)) return;
        pg = await startPostgresServer({ dir: join(dataDir, 'postgres'), port: pgPort, fast: opts.fastPostgres });
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/**
 * The launcher's own agent holds credentials like any enrolled one: issued through the identity
 * registry (so an enrollment key cannot be used to take its id), re-keyed only by the launcher
 * itself when the permissions in code changed, and listed in `agents` like an enrolled machine.
 */
async function ensureLocalAgentIdentity(auth: NatsAuthSetup, db: Kysely<Database>, agentId: string, credsFile: string): Promise<void> {
  const existing = existsSync(credsFile) ? readFileSync(credsFile, 'utf8') : undefined;
  let userKey: string | undefined;
  if (!existing || !auth.agentCredsCurrent(agentId, existing)) {
    const issued = await auth.issueAgentCreds(agentId, { reissue: true });
    if (!issued.ok) throw new Error(`agent credentials: ${issued.error.message}`);
    mkdirSync(dirname(credsFile), { recursive: true, mode: 0o700 });
    await writeSecret(credsFile, issued.value.creds);
    userKey = issued.value.userKey;
  }
  const row = await db.selectFrom('agents').select(['nats_user_key', 'revoked_at']).where('agent_id', '=', agentId).executeTakeFirst();
  if (row?.revoked_at) throw new Error(`the local agent ${agentId} was revoked; start with a fresh data directory (GC_DATA_DIR)`);
  if (!row) {
    await db
      .insertInto('agents')
      .values({ agent_id: agentId, hostname: hostname(), site: 'local', nats_user_key: userKey ?? '', enrollment_key_id: null, revoked_at: null })
      .execute();
  } else if (userKey) {
    await db.updateTable('agents').set({ nats_user_key: userKey }).where('agent_id', '=', agentId).execute();
  }
}

/** Writes a line-per-service summary of where logs are (printed by the launcher). */
export function logLocations(dataDir: string): string {
  return ['nats/nats-server.log', 'postgres/postgres.log', 'logs/projections.log', 'logs/gateway.log', 'logs/agent.log'].map((f) => `  ${join(dataDir, f)}`).join('\n');
}
