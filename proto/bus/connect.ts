/** Connects to NATS with our defaults in one visible place. */
import { type ConnectionOptions, type NatsConnection, credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { type Permissions, decode } from '@nats-io/jwt';
import { readNatsCa } from './nats-ca.js';

export interface BusOptions {
  servers: string | string[];
  /** Connection name shown by the server (monitoring, logs). */
  name: string;
  /** Path to a NATS .creds file (per-agent, gateway, automation); absent on an open dev server. */
  credsFile?: string;
  user?: string;
  pass?: string;
  /**
   * Inbox prefix. Default: the one the credentials allow (each identity may subscribe only to its
   * own inbox tree, see infra/nats-auth/permissions.ts), else `_INBOX`.
   */
  inboxPrefix?: string;
  /** Command-line tools: fail at once when the server cannot be reached, instead of waiting for it. */
  once?: boolean;
  /**
   * PEM file of the CA that signed the servers' certificates (NATS_CA, GC_NATS_CA, stack.natsCa).
   * Given, the connection is TLS and the server is verified against this CA only, not the system's.
   */
  caFile?: string;
}

export const busDefaults = {
  // Awaited publishes with async stack traces cap JetStream at ~6k msg/s (shared/notes).
  noAsyncTraces: true,
  // Reconnect forever: a restarted nats-server must not need a restarted agent or gateway.
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  waitOnFirstConnect: true,
  pingInterval: 10_000,
  // The client adds up to 1 s of jitter per reconnect when TLS is on; keep the plain-text pace.
  reconnectJitterTLS: 100,
} as const satisfies Partial<ConnectionOptions>;

const isTlsUrl = (u: string) => /^tls:\/\//i.test(u.trim());
/** Host of `scheme://host:port` or `host:port`, brackets kept for IPv6. */
const hostOf = (u: string) =>
  u
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/^[^@/]*@/, '')
    .replace(/(:\d+)?(\/.*)?$/, '')
    .toLowerCase();
const isLoopback = (u: string) => /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/.test(hostOf(u));

/**
 * How a connection is secured, decided once: TLS when a CA is given or a URL says `tls://` (then the
 * client refuses a server that offers no TLS: nats.js checks the server's INFO before anything is
 * sent); plain text only to loopback (the test harness, a development server), never across a network.
 */
export function busTls(opts: Pick<BusOptions, 'servers' | 'caFile'>): Pick<ConnectionOptions, 'tls'> {
  const servers = [opts.servers].flat();
  if (opts.caFile !== undefined) {
    const ca = readNatsCa(opts.caFile, 'the NATS CA file');
    if (!ca.ok) throw new Error(ca.error.message);
    // `ca` replaces Node's default roots: only this deployment's servers are trusted.
    return { tls: { ca: ca.value } };
  }
  if (servers.some(isTlsUrl)) return { tls: {} };
  const remote = servers.find((s) => !isLoopback(s));
  if (remote) throw new Error(`refusing plain-text NATS to ${remote}: use a tls:// URL (and NATS_CA / GC_NATS_CA for a private CA)`);
  return {};
}

export async function connectBus(opts: BusOptions): Promise<NatsConnection> {
  const o: ConnectionOptions = { ...busDefaults, servers: opts.servers, name: opts.name, ...busTls(opts) };
  if (opts.once) Object.assign(o, { maxReconnectAttempts: 0, waitOnFirstConnect: false, timeout: 5_000 });
  else {
    // nats.js' waitOnFirstConnect retries every failure alike, so a certificate our CA does not vouch
    // for (a wrong GC_NATS_CA, a server re-keyed by another CA) kept an agent or service retrying
    // forever without a word. We wait for a server that is not up yet ourselves and stop at once on
    // what no retry can mend.
    o.waitOnFirstConnect = false;
  }
  const creds = opts.credsFile ? readFileSync(opts.credsFile) : undefined;
  if (creds) o.authenticator = credsAuthenticator(creds);
  if (opts.user) {
    o.user = opts.user;
    o.pass = opts.pass;
  }
  const inboxPrefix = opts.inboxPrefix ?? (creds ? inboxPrefixOfCreds(creds.toString('utf8')) : undefined);
  if (inboxPrefix) o.inboxPrefix = inboxPrefix;
  if (opts.once) return connect(o);
  for (;;) {
    try {
      return await connect(o);
    } catch (e) {
      const why = unmendable(e);
      if (why) throw new Error(`cannot connect to NATS at ${[opts.servers].flat().join(', ')}: ${why}`, { cause: e });
      await new Promise((r) => setTimeout(r, busDefaults.reconnectTimeWait));
    }
  }
}

/** Node's TLS verification codes (tls.checkServerIdentity and OpenSSL): the server's certificate is not one we trust. */
const CERTIFICATE_CODES =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED|CERT_REJECTED)$/;

/** What to tell the operator when a first connection failed for good, or undefined when waiting may help. */
function unmendable(e: unknown): string | undefined {
  const chain: unknown[] = [];
  for (let c: unknown = e; c instanceof Error && chain.length < 5; c = c.cause) chain.push(c);
  for (const c of chain as (Error & { code?: string })[]) {
    if ((c.code && CERTIFICATE_CODES.test(c.code)) || /certificate|self[- ]signed/i.test(c.message)) {
      return `${c.message}: the server's certificate is not signed by the CA this client trusts; check the CA file (GC_NATS_CA / NATS_CA, the stack's <data>/tls/ca.pem) and the server's certificate`;
    }
    if (/does not support 'tls'/.test(c.message)) return `${c.message}: this client requires TLS; give the server a certificate (or use its tls:// URL)`;
  }
  return undefined;
}

/** The permissions written into a .creds file's user JWT (undefined when it is not one). */
export function credsPermissions(creds: string): Partial<Permissions> | undefined {
  const jwt = /-----BEGIN NATS USER JWT-----\s+(\S+)\s+/.exec(creds)?.[1];
  if (!jwt) return undefined;
  try {
    return decode<Permissions>(jwt).nats;
  } catch {
    return undefined;
  }
}

/** The inbox tree a .creds file's user may subscribe to (`_INBOX.x.y` of `_INBOX.x.y.>`), if it names one. */
export function inboxPrefixOfCreds(creds: string): string | undefined {
  const allow = credsPermissions(creds)?.sub?.allow ?? [];
  return allow.find((s) => s.startsWith('_INBOX.') && s.endsWith('.>') && s !== '_INBOX.>')?.slice(0, -2);
}
