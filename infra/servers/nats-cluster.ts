/**
 * A NATS cluster on loopback: `size` nats-servers joined by cluster routes, each with JetStream and
 * its own store and resolver directory. Nodes can be stopped and started again on the same port and
 * store (fault tests). Production runs the same configuration on three hosts (docs/RELIABILITY.md).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { type NatsServer, type NatsTls, natsTlsBlock, natsUrl, startNatsServer } from './nats-server.js';

export interface NatsClusterOptions {
  /** Each node keeps its files in `<dir>/node-<i>`. */
  dir: string;
  /** Number of nodes (3 tolerates one loss with R3 streams). */
  size?: number;
  /** Per-node configuration (auth): `(nodeDir) => fragment`, e.g. setup.configFragment(join(nodeDir, 'resolver')). */
  extraConfig?: (nodeDir: string, index: number) => string;
  clusterName?: string;
  /** TLS for clients and for the routes between nodes (mutual: each node presents the same certificate). */
  tls?: NatsTls;
}

export interface NatsCluster {
  /** Client URLs of every node, in node order. */
  readonly urls: string[];
  readonly nodes: (NatsServer | undefined)[];
  /** Stops one node (SIGTERM, or SIGKILL when `kill`); its port and store are kept for startNode. */
  stopNode(index: number, kill?: boolean): Promise<void>;
  /** Starts a stopped node again on the same ports and store. */
  startNode(index: number): Promise<void>;
  stop(): Promise<void>;
}

interface NodeSpec {
  dir: string;
  port: number;
  routePort: number;
}

function clusterFragment(name: string, self: NodeSpec, all: NodeSpec[], tls: NatsTls | undefined): string {
  const routes = all.filter((n) => n !== self).map((n) => `"nats-route://127.0.0.1:${n.routePort}"`);
  // Routes carry every message between nodes: the same TLS as clients, verified against the CA.
  const routeTls = tls ? `, ${natsTlsBlock(tls)}` : '';
  // Advertise the loopback client URL so clients discover the other nodes from one seed URL.
  return [
    `cluster { name: ${JSON.stringify(name)}, listen: "127.0.0.1:${self.routePort}", no_advertise: false, routes: [${routes.join(', ')}]${routeTls} }`,
    `client_advertise: "127.0.0.1:${self.port}"`,
  ].join('\n');
}

/** Starts all nodes at once (JetStream needs a quorum to elect its meta leader). */
export async function startNatsCluster(opts: NatsClusterOptions): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const name = opts.clusterName ?? 'gc';
  const specs: NodeSpec[] = [];
  for (let i = 0; i < size; i++) {
    const dir = join(opts.dir, `node-${i}`);
    mkdirSync(dir, { recursive: true });
    specs.push({ dir, port: await freePort(), routePort: await freePort() });
  }
  const nodes: (NatsServer | undefined)[] = new Array(size).fill(undefined);
  const start = async (i: number) => {
    const s = specs[i]!;
    const extra = [clusterFragment(name, s, specs, opts.tls), opts.extraConfig?.(s.dir, i) ?? ''].join('\n');
    nodes[i] = await startNatsServer({ dir: s.dir, port: s.port, serverName: `${name}-${i}`, extraConfig: extra, tls: opts.tls });
  };
  try {
    await Promise.all(specs.map((_, i) => start(i)));
  } catch (e) {
    await Promise.all(nodes.map((n) => n?.stop()));
    throw e;
  }
  return {
    urls: specs.map((s) => natsUrl(s.port, opts.tls !== undefined)),
    nodes,
    async stopNode(i, kill = false) {
      const n = nodes[i];
      nodes[i] = undefined;
      if (n) await n.child.stop(kill ? 0 : 5000, kill ? 'SIGKILL' : 'SIGTERM');
    },
    async startNode(i) {
      if (!nodes[i]) await start(i);
    },
    async stop() {
      await Promise.all(
        nodes.map((n, i) =>
          n
            ? n.stop().then(() => {
                nodes[i] = undefined;
              })
            : undefined,
        ),
      );
    },
  };
}
