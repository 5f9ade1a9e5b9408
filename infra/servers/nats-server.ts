/**
 * Starts a private nats-server (JetStream on, its own store directory) on a free loopback port; with
 * `tls`, clients must speak TLS (the test harness keeps plain text for tests not about transport).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_MESSAGE_BYTES } from '../../proto/codec.js';
import { type Child, startChild } from './child.js';
import { freePort, waitForPort } from './free-port.js';
import type { TlsFiles } from './tls-ca.js';

/** The certificate, key and CA nats-server uses (infra/servers/tls-ca.ts makes or checks them). */
export type NatsTls = Pick<TlsFiles, 'certFile' | 'keyFile' | 'caFile'>;

export interface NatsServerOptions {
  /** Holds nats.conf, the JetStream store and the log. */
  dir: string;
  port?: number;
  /** Extra configuration appended to the generated nats.conf (accounts, authorization, cluster). */
  extraConfig?: string;
  serverName?: string;
  /** TLS required for every client connection (and, in a cluster, for routes: nats-cluster.ts). */
  tls?: NatsTls;
}

export interface NatsServer {
  /** `tls://127.0.0.1:<port>` when TLS is on, else `nats://…`. */
  readonly url: string;
  readonly port: number;
  readonly confFile: string;
  readonly child: Child;
  stop(): Promise<void>;
  /** Re-reads nats.conf without a restart (SIGHUP). */
  reload(): void;
}

export function natsServerBinary(): string {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return p;
    } catch {
      /* next */
    }
  }
  throw new Error('nats-server not found: install it with `apt-get install -y nats-server`');
}

/**
 * A `tls { }` block. Debian's nats-server is 2.9: no `handshake_first` (2.10+), so clients read the
 * plain INFO line (tls_required: true) and upgrade before they send anything, credentials included.
 * The timeout is the handshake's, roomy for a loaded machine (the documented default is 0.5 s).
 */
export function natsTlsBlock(tls: NatsTls): string {
  return `tls { cert_file: ${JSON.stringify(tls.certFile)}, key_file: ${JSON.stringify(tls.keyFile)}, ca_file: ${JSON.stringify(tls.caFile)}, timeout: 5 }`;
}

/** The client URL of a loopback server. */
export const natsUrl = (port: number, tls: boolean): string => `${tls ? 'tls' : 'nats'}://127.0.0.1:${port}`;

/** Writes nats.conf for `opts` and returns its text. */
export function natsConfig(opts: NatsServerOptions & { port: number }): string {
  const store = join(opts.dir, 'jetstream');
  mkdirSync(store, { recursive: true });
  return [
    `server_name: ${JSON.stringify(opts.serverName ?? `gc-${opts.port}`)}`,
    `listen: "127.0.0.1:${opts.port}"`,
    // The codec's limit, so an oversized message is refused at publish time instead of being stored
    // and dropped by every decoder later (headers count toward it too).
    `max_payload: ${MAX_MESSAGE_BYTES}`,
    `jetstream { store_dir: ${JSON.stringify(store)}, max_memory_store: 512MB, max_file_store: 8GB }`,
    opts.tls ? natsTlsBlock(opts.tls) : '',
    opts.extraConfig ?? '',
  ].join('\n');
}

export async function startNatsServer(opts: NatsServerOptions): Promise<NatsServer> {
  const port = opts.port ?? (await freePort());
  mkdirSync(opts.dir, { recursive: true });
  const confFile = join(opts.dir, 'nats.conf');
  writeFileSync(confFile, natsConfig({ ...opts, port }));
  const child = startChild(natsServerBinary(), ['-c', confFile], { logFile: join(opts.dir, 'nats-server.log') });
  const failed = child.exited.then((code) => {
    throw new Error(`nats-server exited with ${code}; see ${join(opts.dir, 'nats-server.log')}`);
  });
  await Promise.race([waitForPort(port, 15_000), failed]);
  failed.catch(() => {});
  return {
    url: natsUrl(port, opts.tls !== undefined),
    port,
    confFile,
    child,
    stop: () => child.stop(),
    reload: () => {
      child.proc.kill('SIGHUP');
    },
  };
}
