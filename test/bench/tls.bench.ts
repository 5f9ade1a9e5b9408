/**
 * The cost of encrypting NATS (issue 16): the same two hops the product relies on, over a TLS
 * nats-server (the launcher's configuration: private CA, decentralized auth) and over a plain-text
 * one started beside it in the same run. A command hop is a small request answered by a responder;
 * a live-view hop is a frame published to a subscriber. Rounds alternate between the two servers so
 * that the machine's noise falls on both alike. The whole stack (commands.bench, viewer.bench) runs
 * over TLS; this module is where its price is read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectBus } from '../../proto/bus/connect.js';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { ensureLocalTls } from '../../infra/servers/tls-ca.js';
import { type TestNats, startTestNats } from '../support/servers.js';
import { fmt, latency, p50, p50Measured } from './stats.js';
import type { BenchRun } from './types.js';

const ROUNDS = 6;
const REQUESTS_PER_ROUND = 100;
const FRAMES_PER_ROUND = 50;
/** A typical painted delta frame of the live view is tens of KiB; a keyframe a few hundred. */
const FRAME_BYTES = [48 * 1024, 256 * 1024];
const BURST_FRAMES = 400;

interface Pair {
  pub: NatsConnection;
  sub: NatsConnection;
}

async function pairOn(nats: TestNats, creds: string, caFile: string | undefined): Promise<Pair> {
  const pub = await connectBus({ servers: nats.url, name: 'bench-tls-pub', credsFile: creds, caFile });
  const sub = await connectBus({ servers: nats.url, name: 'bench-tls-sub', credsFile: creds, caFile });
  sub.subscribe('bench.echo', {
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  await sub.flush();
  return { pub, sub };
}

async function requests(p: Pair, n: number, out: number[]): Promise<void> {
  // A backstage command's size on the wire: protobuf, ids, actor, headers.
  const payload = new Uint8Array(300).fill(7);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await p.pub.request('bench.echo', payload, { timeout: 5000 });
    out.push(performance.now() - t);
  }
}

async function frames(p: Pair, bytes: number, n: number, out: number[]): Promise<void> {
  const subject = `bench.frame.${bytes}`;
  let sentAt = 0;
  let got: () => void = () => {};
  const sub = p.sub.subscribe(subject, {
    callback: () => {
      out.push(performance.now() - sentAt);
      got();
    },
  });
  await p.sub.flush();
  const payload = new Uint8Array(bytes).map((_, i) => (i * 31) & 0xff);
  for (let i = 0; i < n; i++) {
    const arrived = new Promise<void>((r) => {
      got = r;
    });
    sentAt = performance.now();
    p.pub.publish(subject, payload);
    await arrived;
  }
  sub.unsubscribe();
}

/** Frames published back to back until the subscriber has them all: MiB/s through one connection pair. */
async function burst(p: Pair, bytes: number, n: number): Promise<number> {
  const subject = `bench.burst.${bytes}`;
  let left = n;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const sub = p.sub.subscribe(subject, {
    callback: () => {
      if (--left === 0) done();
    },
  });
  await p.sub.flush();
  const payload = new Uint8Array(bytes).map((_, i) => (i * 17) & 0xff);
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    p.pub.publish(subject, payload);
    // Let the socket drain now and then, as a 30 fps capture loop would.
    if (i % 20 === 19) await p.pub.flush();
  }
  await all;
  const secs = (performance.now() - t) / 1000;
  sub.unsubscribe();
  return (bytes * n) / 2 ** 20 / secs;
}

const cost = (tls: number[], plain: number[]) => {
  const d = p50(tls) - p50(plain);
  return `cost of encryption at p50: ${d >= 0 ? '+' : ''}${fmt(d)} ms (${fmt((p50(tls) / p50(plain) - 1) * 100)}%)`;
};

export const run: BenchRun = async (progress) => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-bench-tls-'));
  const servers: TestNats[] = [];
  const pairs: Pair[] = [];
  try {
    progress("a private CA, a TLS nats-server and a plain-text one, both with the stack's auth");
    const tls = await ensureLocalTls(join(dir, 'tls'));
    const auth = await prepareNatsAuth(join(dir, 'auth'), { caFile: tls.caFile });
    const creds = await auth.credsFor('launcher');
    const [secure, plain] = await Promise.all([startTestNats(auth.serverConfig, { tls }), startTestNats(auth.serverConfig)]);
    servers.push(secure, plain);
    const onTls = await pairOn(secure, creds, tls.caFile);
    const onPlain = await pairOn(plain, creds, undefined);
    pairs.push(onTls, onPlain);
    // Warm both (JIT, socket buffers) before measuring.
    await requests(onTls, 50, []);
    await requests(onPlain, 50, []);

    const rtt = { tls: [] as number[], plain: [] as number[] };
    const relay = new Map(FRAME_BYTES.map((b) => [b, { tls: [] as number[], plain: [] as number[] }]));
    for (let r = 0; r < ROUNDS; r++) {
      progress(`round ${r + 1}/${ROUNDS}`);
      const order: ['tls' | 'plain', Pair][] =
        r % 2 === 0
          ? [
              ['tls', onTls],
              ['plain', onPlain],
            ]
          : [
              ['plain', onPlain],
              ['tls', onTls],
            ];
      for (const [k, p] of order) {
        await requests(p, REQUESTS_PER_ROUND, rtt[k]);
        for (const b of FRAME_BYTES) await frames(p, b, FRAMES_PER_ROUND, relay.get(b)![k]);
      }
    }
    progress('burst throughput');
    const mib = { tls: [] as number[], plain: [] as number[] };
    for (let r = 0; r < 10; r++) {
      for (const [k, p] of (r % 2 === 0
        ? [
            ['tls', onTls],
            ['plain', onPlain],
          ]
        : [
            ['plain', onPlain],
            ['tls', onTls],
          ]) as ['tls' | 'plain', Pair][]) {
        mib[k].push(await burst(p, FRAME_BYTES[0]!, BURST_FRAMES));
      }
    }

    return [
      {
        figure: 'NATS request round trip over TLS (a command hop: 300-byte request, reply)',
        value: latency(rtt.tls),
        baseline: 'the same over plain text, same run',
        baselineValue: latency(rtt.plain),
        note: cost(rtt.tls, rtt.plain),
        measured: p50Measured(rtt.tls, rtt.plain),
      },
      ...FRAME_BYTES.map((b) => ({
        figure: `live-view frame relay over TLS (publish -> subscribe of ${b / 1024} KiB)`,
        value: latency(relay.get(b)!.tls),
        baseline: 'the same over plain text, same run',
        baselineValue: latency(relay.get(b)!.plain),
        note: cost(relay.get(b)!.tls, relay.get(b)!.plain),
        measured: p50Measured(relay.get(b)!.tls, relay.get(b)!.plain),
      })),
      {
        figure: `frame burst throughput over TLS (${BURST_FRAMES} × ${FRAME_BYTES[0]! / 1024} KiB, one connection pair)`,
        value: `${fmt(p50(mib.tls))} MiB/s (median of ${mib.tls.length})`,
        baseline: 'the same over plain text, same run',
        baselineValue: `${fmt(p50(mib.plain))} MiB/s (median of ${mib.plain.length})`,
        note: "ECDSA P-256 certificate from the launcher's private CA, as the stack runs it",
        measured: { value: p50(mib.tls), unit: 'MiB/s (median)', baselineValue: p50(mib.plain) },
      },
    ];
  } finally {
    for (const p of pairs) {
      await p.pub.close().catch(() => {});
      await p.sub.close().catch(() => {});
    }
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
};
