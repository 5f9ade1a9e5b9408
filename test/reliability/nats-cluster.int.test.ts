/**
 * A 3-node NATS cluster on loopback with the event stream at 3 replicas, TLS for clients and routes:
 * killing the stream leader (SIGKILL) during traffic does not stop writes and loses nothing. Then the
 * launcher's --cluster stack (TLS as always) keeps serving when the node its services connected to dies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { startStack } from '../../infra/launcher/stack.js';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { type NatsCluster, startNatsCluster } from '../../infra/servers/nats-cluster.js';
import { ensureLocalTls } from '../../infra/servers/tls-ca.js';
import { encode, message } from '../../proto/codec.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { eventually, login } from '../support/api.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What a route port says to a plain-text peer (sending a route INFO in clear) and to a TLS peer
 * presenting `cert`: everything received until the server closes, or until its first line over TLS.
 */
function routeProbe(port: number, cert?: { ca: string; cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = cert ? tlsConnect({ port, host: '127.0.0.1', ...cert }) : tcpConnect(port, '127.0.0.1');
    s.setEncoding('latin1');
    if (!cert) s.on('connect', () => s.write('INFO {"server_id":"plain-peer"}\r\n'));
    s.on('data', (d: string) => {
      got += d;
      if (cert && got.includes('\r\n')) s.destroy();
    });
    s.on('error', (e) => (cert && !got ? reject(e) : undefined));
    s.on('close', () => resolve(got));
    setTimeout(() => {
      s.destroy();
      reject(new Error(`route port ${port} neither answered nor closed: ${got}`));
    }, 10_000).unref();
  });
}

describe('fault: one node of a 3-node NATS cluster dies', { timeout: 180_000 }, () => {
  const dirs: string[] = [];
  const tmp = (p: string) => {
    const d = mkdtempSync(join(tmpdir(), p));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('keeps accepting writes at R3 and loses none when the stream leader is killed', async () => {
    const dir = tmp('gc-cluster-');
    const tls = await ensureLocalTls(join(dir, 'tls'), { names: ['127.0.0.1', 'localhost'] });
    const auth = await prepareNatsAuth(join(dir, 'auth'), { caFile: tls.caFile });
    let cluster: NatsCluster | undefined;
    let nc: Awaited<ReturnType<typeof connectBus>> | undefined;
    try {
      cluster = await startNatsCluster({ dir, tls, extraConfig: (nodeDir) => auth.configFragment(join(nodeDir, 'resolver')) });
      assert.ok(
        cluster.urls.every((u) => u.startsWith('tls://')),
        cluster.urls.join(' '),
      );
      // Routes are TLS too: the cluster block of every node carries its own tls { }, and the route
      // port announces it before anything else is said.
      const conf = readFileSync(cluster.nodes[0]!.confFile, 'utf8');
      assert.match(conf, /^cluster \{.*routes: \[.*\], tls \{ cert_file: /m);
      const routePort = Number(/^cluster \{[^\n]*listen: "127\.0\.0\.1:(\d+)"/m.exec(conf)?.[1]);
      assert.equal(await routeProbe(routePort), '', 'a plain-text peer hears nothing and is hung up on');
      const peer = { ca: readFileSync(tls.caFile, 'utf8'), cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8') };
      assert.match(await routeProbe(routePort, peer), /^INFO \{.*"cluster":"gc"/, "a peer with the CA's certificate is spoken to over TLS");
      nc = await connectBus({ servers: cluster.urls, name: 'cluster-test', credsFile: await auth.credsFor('launcher'), caFile: tls.caFile });
      // The meta leader needs a moment after the nodes start.
      const jsm = await eventually(() => jetstreamManager(nc!), 'JetStream in the cluster', 30_000, 500);
      await eventually(() => ensureStreams(jsm, { replicas: 3 }).then(() => true), 'the R3 stream', 30_000, 500);
      const info = await jsm.streams.info(Streams.events.name);
      assert.equal(info.config.num_replicas, 3);
      const js = jetstream(nc);

      const total = 3000;
      const ids: string[] = [];
      let retries = 0;
      let killedAt = 0;
      let leader = '';
      const publishOne = async (i: number) => {
        const msg = message({ audit: { eventType: 'cluster_probe', detailsJson: JSON.stringify({ i }) } });
        const id = msg.meta!.id!;
        ids[i] = id;
        const data = encode(msg);
        for (let attempt = 0; ; attempt++) {
          try {
            await js.publish(subjects.audit('cluster_probe'), data, { msgID: id, timeout: 2000 });
            return;
          } catch (e) {
            retries++;
            if (attempt > 60) throw e;
            await sleep(250);
          }
        }
      };
      const t0 = Date.now();
      let recoveredMs = 0;
      for (let i = 0; i < total; i += 50) {
        if (i === 1000) {
          leader = (await jsm.streams.info(Streams.events.name)).cluster?.leader ?? '';
          const index = Number(leader.split('-').pop());
          assert.ok(index >= 0 && index < 3, `leader ${leader}`);
          killedAt = Date.now();
          await cluster.stopNode(index, true);
        }
        await Promise.all(Array.from({ length: Math.min(50, total - i) }, (_, k) => publishOne(i + k)));
        if (killedAt && !recoveredMs) recoveredMs = Date.now() - killedAt;
      }
      const after = await jsm.streams.info(Streams.events.name);
      console.log(
        `killed leader ${leader} after 1000 of ${total} writes; first batch after the kill acked in ${recoveredMs} ms; ${retries} publish retries; new leader ${after.cluster?.leader}; total ${Date.now() - t0} ms`,
      );
      assert.notEqual(after.cluster?.leader, leader);

      // Exactly the ids published, once each (retries were deduplicated by Nats-Msg-Id).
      assert.equal(after.state.messages, total);
      const readAll = async () => {
        const consumer = await js.consumers.get(Streams.events.name, { deliver_policy: DeliverPolicy.All });
        const out: string[] = [];
        while (out.length < total) {
          let got = 0;
          for await (const m of await consumer.fetch({ max_messages: 1000, expires: 3000 })) {
            got++;
            out.push(m.headers?.get('Nats-Msg-Id') ?? '');
            if (m.info.pending === 0) break;
          }
          if (got === 0) break;
        }
        return out;
      };
      // Right after a leader change the first consumer request may time out: retry the whole read.
      const seen = await eventually(readAll, 'reading the stream back', 30_000, 500);
      assert.equal(new Set(seen).size, total);
      assert.deepEqual([...seen].sort(), [...ids].sort());
    } finally {
      await nc?.close();
      await cluster?.stop();
    }
  });

  it('runs the whole stack on the cluster (--cluster) and survives losing the node services connected to', async () => {
    const dir = tmp('gc-cstack-');
    const stack = await startStack({ dataDir: dir, port: 0, agentId: 'cluster-agent', heartbeatMs: 500, fastPostgres: true, cluster: true });
    try {
      assert.equal(stack.natsUrls.length, 3);
      assert.ok(
        stack.natsUrls.every((u) => u.startsWith('tls://')),
        stack.natsUrls.join(' '),
      );
      const admin = await login(stack.url, stack.admin.name, stack.admin.password);
      await eventually(async () => ((await admin.get<{ online: boolean }>('/api/machines/cluster-agent')).body.online ? true : undefined), 'the agent online');
      await stack.cluster!.stopNode(0, true);
      const killedAt = Date.now();
      // Heartbeats keep flowing through the other nodes: a fresh last_seen after the kill.
      await eventually(
        async () => {
          const m = await admin.get<{ online: boolean; last_seen: string }>('/api/machines/cluster-agent');
          return m.body.online && Date.parse(m.body.last_seen) > killedAt + 1000 ? true : undefined;
        },
        'heartbeats after node 0 died',
        60_000,
      );
      const r = await eventually(
        async () => {
          const x = await admin.post<{ stdout: string }>('/api/machines/cluster-agent/backstage/exec', { command: 'echo via-cluster' });
          return x.status === 200 ? x : undefined;
        },
        'a command through the surviving nodes',
        60_000,
      );
      console.log(`stack on the cluster: node 0 killed, commands work again ${Date.now() - killedAt} ms later`);
      assert.equal(r.body.stdout, 'via-cluster\n');
    } finally {
      await stack.stop();
    }
  });
});
