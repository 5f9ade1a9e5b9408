/** Connects to NATS with our defaults in one visible place. */
import { type ConnectionOptions, type NatsConnection, credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';
import { type Permissions, decode } from '@nats-io/jwt';

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
}

export const busDefaults = {
  // Awaited publishes with async stack traces cap JetStream at ~6k msg/s (shared/notes).
  noAsyncTraces: true,
  // Reconnect forever: a restarted nats-server must not need a restarted agent or gateway.
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  waitOnFirstConnect: true,
  pingInterval: 10_000,
} as const satisfies Partial<ConnectionOptions>;

export function connectBus(opts: BusOptions): Promise<NatsConnection> {
  const o: ConnectionOptions = { ...busDefaults, servers: opts.servers, name: opts.name };
  if (opts.once) Object.assign(o, { maxReconnectAttempts: 0, waitOnFirstConnect: false, timeout: 5_000 });
  const creds = opts.credsFile ? readFileSync(opts.credsFile) : undefined;
  if (creds) o.authenticator = credsAuthenticator(creds);
  if (opts.user) { o.user = opts.user; o.pass = opts.pass; }
  const inboxPrefix = opts.inboxPrefix ?? (creds ? inboxPrefixOfCreds(creds.toString('utf8')) : undefined);
  if (inboxPrefix) o.inboxPrefix = inboxPrefix;
  return connect(o);
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
