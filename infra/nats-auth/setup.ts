/**
 * Decentralized NATS auth for GuruConnect: one operator, a system account, the application account
 * `GC`, whose users (services and agents) are signed by an account signing key we hold, and the
 * readers' account `GC_READERS` (auditors, automation), which imports read-only access from `GC`
 * (see permissions.ts). Everything lives in one owner-only directory; enrolling or revoking an agent
 * never restarts NATS.
 *
 * This directory is also the registry of agent identities: an id gets credentials once
 * (`agents/<id>.keys` lists every key ever issued to it), service names are reserved, and a second
 * issue for the same id needs the caller's explicit `reissue` (the launcher re-keying its own agent,
 * an admin re-enrolling a machine), so an enrollment key cannot take over a running agent.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Account, type KeyPair, type Permissions, createAccount, createOperator, decode, encodeAccount, encodeOperator, encodeUser, fmtCreds, fromSeed } from '@nats-io/jwt';
import { Prefix } from '@nats-io/nkeys';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { checkSubjectToken } from '../../proto/ids.js';
import { readNatsCa } from '../../proto/bus/nats-ca.js';
import { pushAccountJwt } from './claims-update.js';
import { type IssueOptions, type IssuedAgentCreds, issueAgentCredsBatch } from './agent-creds.js';
import { fastSigner, newFastKeyPair } from './fast-signer.js';
import { type ServiceKind, agentPermissions, appAccountExports, isReaderKind, readerAccountImports, serviceKinds, servicePermissions } from './permissions.js';
import { ensurePrivateDir, readIfExists, writeSecret } from './secret-files.js';

export { reservedAgentIds } from './agent-creds.js';

export interface NatsAuthSetup {
  readonly dir: string;
  readonly operatorKey: string;
  readonly systemAccountKey: string;
  /** Public key of the application account every service and agent user belongs to. */
  readonly appAccountKey: string;
  /** Fragment to append to nats.conf (operator, system account, full resolver in `<dir>/resolver`, preloads). */
  readonly serverConfig: string;
  /** The same fragment with another resolver directory (one per server of a cluster). */
  configFragment(resolverDir: string): string;
  /** Path of the .creds file for a service kind, created (0600) on first use. */
  credsFor(kind: ServiceKind): Promise<string>;
  /** Path of the system-account user's .creds (pushes account updates; never give it to a service). */
  systemCreds(): Promise<string>;
  /** Public key of the readers' account (auditors, automation). */
  readonly readerAccountKey: string;
  /**
   * New user key and .creds text for one agent; only its public key is kept here. Refuses reserved
   * ids (CONFLICT) and ids that already hold credentials unless `reissue` says the caller may re-key it.
   */
  issueAgentCreds(agentId: string, o?: IssueOptions): Promise<Result<IssuedAgentCreds>>;
  /** The same for many agents at once (one registry lock, concurrent signing and writes): one result per id, in order. */
  issueAgentCredsBatch(agentIds: readonly string[], o?: IssueOptions): Promise<Result<IssuedAgentCreds>[]>;
  /** True when `creds` were issued by this setup for `agentId` with today's permissions. */
  agentCredsCurrent(agentId: string, creds: string): boolean;
  /** Revokes every user ever issued to `agentId` and pushes the account JWT to the running servers. */
  revokeAgent(agentId: string, servers: string | string[]): Promise<Result<{ revokedKeys: string[] }>>;
  /** A user of the readers' account with `perms` (integrations); only the caller keeps the key. */
  issueReaderCreds(name: string, perms: Permissions): Promise<{ creds: string; userKey: string }>;
  /** Revokes readers' account users and pushes the account to the running servers (their connections end). */
  revokeReaderKeys(keys: string[], servers: string | string[]): Promise<Result<void>>;
  /** The current application account JWT (with its revocations). */
  appAccountJwt(): Promise<string>;
  /**
   * PEM of the CA the NATS servers' certificates chain to (handed to agents at enrollment, so each
   * trusts exactly its own deployment); undefined on a plain-text development server.
   */
  natsCaPem(): string | undefined;
}

export interface NatsAuthOptions {
  /** The servers' CA file: account pushes (revocations) verify the servers against it. */
  caFile?: string;
}

const files = {
  operatorSeed: 'operator.nk',
  operatorJwt: 'operator.jwt',
  sysSeed: 'sys-account.nk',
  sysJwt: 'sys-account.jwt',
  appSeed: 'app-account.nk',
  appSigningSeed: 'app-signing.nk',
  appJwt: 'app-account.jwt',
  readerSeed: 'readers-account.nk',
  readerJwt: 'readers-account.jwt',
  revocations: 'revocations.json',
  readerRevocations: 'reader-revocations.json',
  agents: 'agents',
  creds: 'creds',
  resolver: 'resolver',
} as const;

// Explicit "no limit" values: an absent limit in a v2 account JWT is read as 0 by the server.
const openLimits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const jetStreamLimits = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };

const te = new TextEncoder();
const td = new TextDecoder();

async function loadOrCreateKey(path: string, create: () => KeyPair): Promise<KeyPair> {
  const seed = await readIfExists(path);
  if (seed) return fastSigner(fromSeed(te.encode(seed.trim())));
  const kp = create();
  await writeSecret(path, td.decode(kp.getSeed()));
  return fastSigner(kp);
}

/** A new user key pair, made, signed with and asked for its public key in OpenSSL. */
const newUserKey = () => newFastKeyPair(Prefix.User);

async function loadOrCreateText(path: string, create: () => Promise<string>): Promise<string> {
  const existing = await readIfExists(path);
  if (existing) return existing.trim();
  const text = await create();
  await writeSecret(path, text);
  return text;
}

/** Prepares (or reloads) keys and JWTs in `dir`; idempotent, so every start-up may call it. */
export async function prepareNatsAuth(dir: string, opts: NatsAuthOptions = {}): Promise<NatsAuthSetup> {
  const caPem = opts.caFile === undefined ? undefined : readNatsCa(opts.caFile, 'the NATS CA file');
  if (caPem && !caPem.ok) throw new Error(caPem.error.message);
  await ensurePrivateDir(dir);
  const p = (name: string) => join(dir, name);
  const operator = await loadOrCreateKey(p(files.operatorSeed), createOperator);
  const sys = await loadOrCreateKey(p(files.sysSeed), createAccount);
  const app = await loadOrCreateKey(p(files.appSeed), createAccount);
  const signing = await loadOrCreateKey(p(files.appSigningSeed), createAccount);
  const reader = await loadOrCreateKey(p(files.readerSeed), createAccount);

  const operatorJwt = await loadOrCreateText(p(files.operatorJwt), () => encodeOperator('guruconnect', operator, { system_account: sys.getPublicKey() }));
  const sysJwt = await loadOrCreateText(p(files.sysJwt), () => encodeAccount('SYS', sys, { limits: openLimits }, { signer: operator }));

  const readRevocationsOf = async (file: string): Promise<Record<string, number>> => JSON.parse((await readIfExists(p(file))) ?? '{}') as Record<string, number>;
  const readRevocations = () => readRevocationsOf(files.revocations);

  const encodeApp = async (revocations: Record<string, number>): Promise<string> => {
    const claims: Partial<Account> = {
      limits: { ...openLimits, ...jetStreamLimits },
      signing_keys: [signing.getPublicKey()],
      revocations,
      exports: appAccountExports(),
    };
    return encodeAccount('GC', app, claims, { signer: operator });
  };
  const encodeReaders = async (): Promise<string> =>
    encodeAccount(
      'GC_READERS',
      reader,
      {
        limits: openLimits,
        imports: readerAccountImports(app.getPublicKey()),
        revocations: await readRevocationsOf(files.readerRevocations),
      },
      { signer: operator },
    );
  await loadOrCreateText(p(files.appJwt), async () => encodeApp(await readRevocations()));
  await loadOrCreateText(p(files.readerJwt), encodeReaders);
  // A directory made by an older version lacks today's exports and imports: re-sign both (newer iat).
  const stale = (path: string, field: 'exports' | 'imports', want: unknown) => JSON.stringify(decode<Account>(readFileSync(path, 'utf8').trim()).nats[field] ?? []) !== JSON.stringify(want);
  if (stale(p(files.appJwt), 'exports', appAccountExports())) {
    await writeSecret(p(files.appJwt), await encodeNewer(async () => encodeApp(await readRevocations()), readFileSync(p(files.appJwt), 'utf8').trim()));
  }
  if (stale(p(files.readerJwt), 'imports', readerAccountImports(app.getPublicKey()))) {
    await writeSecret(p(files.readerJwt), await encodeNewer(encodeReaders, readFileSync(p(files.readerJwt), 'utf8').trim()));
  }
  // Other processes (launcher, gateway) share this directory: the account JWT on disk is the truth.
  const currentAppJwt = (): string => readFileSync(p(files.appJwt), 'utf8').trim();

  // Enroll and revoke both rewrite shared files; one at a time within this process.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  const userCreds = async (name: string, perms: Permissions, kp: KeyPair = newUserKey()): Promise<string> => {
    const jwt = await encodeUser(name, kp, app.getPublicKey(), { ...perms, bearer_token: false }, { signer: signing });
    return td.decode(fmtCreds(jwt, kp));
  };
  const readerCreds = async (name: string, perms: Permissions, kp: KeyPair = newUserKey()): Promise<string> => {
    const jwt = await encodeUser(name, kp, reader, { ...perms, bearer_token: false });
    return td.decode(fmtCreds(jwt, kp));
  };

  const configFragment = (resolverDir: string): string =>
    [
      `operator: ${JSON.stringify(operatorJwt)}`,
      `system_account: ${JSON.stringify(sys.getPublicKey())}`,
      // A full resolver stores pushed account JWTs in its own directory and takes updates live.
      `resolver: { type: full, dir: ${JSON.stringify(resolverDir)}, allow_delete: false, interval: "2m", timeout: "1.9s" }`,
      'resolver_preload: {',
      `  ${sys.getPublicKey()}: ${JSON.stringify(sysJwt)}`,
      `  ${app.getPublicKey()}: ${JSON.stringify(currentAppJwt())}`,
      `  ${reader.getPublicKey()}: ${JSON.stringify(readFileSync(p(files.readerJwt), 'utf8').trim())}`,
      '}',
      '',
    ].join('\n');

  const systemCreds = async (): Promise<string> => {
    const path = join(dir, files.creds, 'system.creds');
    if (await readIfExists(path)) return path;
    const kp = newUserKey();
    const jwt = await encodeUser('system', kp, sys);
    await writeSecret(path, td.decode(fmtCreds(jwt, kp)));
    return path;
  };

  return {
    dir,
    operatorKey: operator.getPublicKey(),
    systemAccountKey: sys.getPublicKey(),
    appAccountKey: app.getPublicKey(),
    readerAccountKey: reader.getPublicKey(),
    get serverConfig() {
      return configFragment(p(files.resolver));
    },
    configFragment,

    async credsFor(kind) {
      if (!serviceKinds.includes(kind)) throw new Error(`unknown service kind ${String(kind)}`);
      const path = join(dir, files.creds, `${kind}.creds`);
      const perms = servicePermissions(kind);
      const existing = await readIfExists(path);
      const issuer = isReaderKind(kind) ? reader.getPublicKey() : signing.getPublicKey();
      // Re-issue when the permissions in code (or the account) changed since the file was written.
      if (existing && sameIssuerAndPerms(existing, issuer, perms)) return path;
      await writeSecret(path, isReaderKind(kind) ? await readerCreds(kind, perms) : await userCreds(kind, perms));
      return path;
    },

    systemCreds,

    issueAgentCredsBatch: (agentIds, o) => issueAgentCredsBatch({ dir, newUserKey, userCreds, serial }, agentIds, o),

    async issueAgentCreds(agentId, o) {
      const [r] = await issueAgentCredsBatch({ dir, newUserKey, userCreds, serial }, [agentId], o);
      return r!;
    },

    revokeAgent(agentId, servers) {
      const id = checkSubjectToken(agentId, 'agent id');
      if (!id.ok) return Promise.resolve(id);
      return serial(async (): Promise<Result<{ revokedKeys: string[] }>> => {
        const keys = ((await readIfExists(join(dir, files.agents, `${agentId}.keys`))) ?? '').split('\n').filter(Boolean);
        if (keys.length === 0) return err(ErrorCode.NOT_FOUND, `no NATS credentials were issued to agent ${agentId}`);
        const revocations = await readRevocations();
        // A revocation covers JWTs issued at or before its time; ours are never re-issued for a key.
        const now = Math.floor(Date.now() / 1000);
        for (const k of keys) revocations[k] = now;
        await writeSecret(p(files.revocations), JSON.stringify(revocations, null, 1));
        const next = await encodeNewer(() => encodeApp(revocations), currentAppJwt());
        await writeSecret(p(files.appJwt), next);
        const pushed = await pushAccountJwt(servers, await systemCreds(), next, opts.caFile);
        return pushed.ok ? ok({ revokedKeys: keys }) : pushed;
      });
    },

    agentCredsCurrent: (agentId, creds) => sameIssuerAndPerms(creds, signing.getPublicKey(), agentPermissions(agentId)),

    issueReaderCreds(name, perms) {
      const kp = newUserKey();
      return readerCreds(name, perms, kp).then((creds) => ({ creds, userKey: kp.getPublicKey() }));
    },

    revokeReaderKeys(keys, servers) {
      return serial(async () => {
        const revocations = await readRevocationsOf(files.readerRevocations);
        const now = Math.floor(Date.now() / 1000);
        for (const k of keys) revocations[k] = now;
        await writeSecret(p(files.readerRevocations), JSON.stringify(revocations, null, 1));
        const next = await encodeNewer(encodeReaders, readFileSync(p(files.readerJwt), 'utf8').trim());
        await writeSecret(p(files.readerJwt), next);
        return pushAccountJwt(servers, await systemCreds(), next, opts.caFile);
      });
    },

    appAccountJwt: () => Promise.resolve(currentAppJwt()),
    natsCaPem: () => (caPem?.ok ? caPem.value : undefined),
  };
}

function sameIssuerAndPerms(creds: string, signingKey: string, perms: Permissions): boolean {
  const m = /-----BEGIN NATS USER JWT-----\s+(\S+)\s+/.exec(creds);
  if (!m?.[1]) return false;
  try {
    const c = decode<Permissions>(m[1]);
    return c.iss === signingKey && JSON.stringify([c.nats.pub, c.nats.sub, c.nats.resp]) === JSON.stringify([perms.pub, perms.sub, perms.resp]);
  } catch {
    return false;
  }
}

/** Resolvers keep the JWT with the later `iat` (seconds): wait out the second of the previous one. */
async function encodeNewer(encode: () => Promise<string>, previous: string): Promise<string> {
  const prevIat = decode(previous).iat;
  while (Math.floor(Date.now() / 1000) <= prevIat) await new Promise((r) => setTimeout(r, 50));
  return encode();
}
