/**
 * The live view behind a slow link (viewer-run.ts with test/support/slow-link.ts): Chromium in a
 * network namespace of its own whose only way to the gateway is a 5 Mbit/s link with 40 ms each way
 * (80 ms round trip). Per scene: frames painted per second, latency over the first and the last third
 * (a stream that queues shows it as growth), bytes per second; and switch latency to the first
 * painted frame.
 */
import type { BenchRun } from './types.js';
import { viewerBench } from './viewer-run.js';

export const run: BenchRun = (progress) => viewerBench(progress, { where: '5 Mbit/s, 80 ms', slowLink: { mbit: 5, delayMs: 40 }, screenshots: 'bench-viewer-slow-link' });
