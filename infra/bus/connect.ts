/** Connects to NATS with our defaults in one visible place. */
import { type ConnectionOptions, type NatsConnection, credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { readFileSync } from 'node:fs';

export interface BusOptions {
  servers: string | string[];
  /** Connection name shown by the server (monitoring, logs). */
  name: string;
  /** Path to a NATS .creds file (per-agent, gateway, automation); absent on an open dev server. */
  credsFile?: string;
  user?: string;
  pass?: string;
  /** Inbox prefix; agents use `_INBOX.<agentId>` so their permissions can be scoped to it. */
  inboxPrefix?: string;
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
  if (opts.credsFile) o.authenticator = credsAuthenticator(readFileSync(opts.credsFile));
  if (opts.user) { o.user = opts.user; o.pass = opts.pass; }
  if (opts.inboxPrefix) o.inboxPrefix = opts.inboxPrefix;
  return connect(o);
}
