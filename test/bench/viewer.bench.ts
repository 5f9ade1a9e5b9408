/**
 * The live view end to end on loopback (viewer-run.ts): per scene (square, scrolling text, full-screen
 * change) frames painted per second in Chromium, glass-to-glass latency and its growth, bytes per
 * second and agent CPU, beside whole frames grabbed and JPEG-encoded in the same run; switch latency;
 * and raw NATS baselines measured on the same stack.
 */
import { fmt, latency, p50 } from './stats.js';
import type { BenchRow, BenchRun } from './types.js';
import { viewerBench } from './viewer-run.js';

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export const run: BenchRun = (progress) =>
  viewerBench(progress, {
    where: 'loopback',
    screenshots: 'bench-viewer',
    extra: async ({ bus, frameBytes }) => {
      progress(`raw NATS baselines (publish -> subscribe of ${kib(frameBytes)}, request round trip)`);
      const transfer: number[] = [];
      let sentAt = 0;
      let got: () => void = () => {};
      const s1 = bus.subscribe('bench.frame', {
        callback: () => {
          transfer.push(performance.now() - sentAt);
          got();
        },
      });
      const s2 = bus.subscribe('bench.echo', {
        callback: (_e, m) => {
          m.respond(m.data);
        },
      });
      await bus.flush();
      const payload = new Uint8Array(Math.max(1, frameBytes)).map((_, i) => i & 0xff);
      for (let i = 0; i < 300; i++) {
        const arrived = new Promise<void>((r) => {
          got = r;
        });
        sentAt = performance.now();
        bus.publish('bench.frame', payload);
        await arrived;
      }
      const rtt: number[] = [];
      for (let i = 0; i < 300; i++) {
        const t = performance.now();
        await bus.request('bench.echo', new TextEncoder().encode('switch'), { timeout: 2000 });
        rtt.push(performance.now() - t);
      }
      s1.unsubscribe();
      s2.unsubscribe();
      const rows: BenchRow[] = [
        {
          figure: 'raw NATS floor under the live view: publish -> subscribe of one square-scene delta frame, and a request round trip',
          value: latency(transfer),
          baseline: 'raw NATS request round trip',
          baselineValue: latency(rtt),
          note: `delta frame median ${kib(frameBytes)}; what the glass-to-glass and switch figures above cannot go below`,
          measured: { value: Math.round(p50(transfer) * 100) / 100, unit: 'ms p50', baselineValue: Math.round(p50(rtt) * 100) / 100 },
        },
      ];
      progress(`  ${fmt(p50(transfer))} ms transfer, ${fmt(p50(rtt))} ms round trip`);
      return rows;
    },
  });
