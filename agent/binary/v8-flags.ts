/**
 * The single-file agent's two sets of V8 settings, without side effects (agent/binary/v8-footprint.ts
 * applies the first at start-up; the capture loop switches to the second while it runs). Only flags
 * V8 reads while running: Node 20's SEA config has no `execArgv`, and heap sizes are fixed once the
 * isolate exists. Measured in test/bench/agent-footprint.bench.ts (idle) and the capture bench.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Idle, for memory. `--semi-space-growth-factor=1`: the young generation keeps its initial size
 * instead of doubling up to 2 × 8 MiB: start-up allocates fast enough to grow it to the maximum, and
 * V8 keeps that space committed while the agent idles (6-14 MiB of an idle agent's resident memory).
 * `--optimize-for-size`: V8's memory-over-speed choices (the flag Chrome sets on low-memory devices);
 * 0.3-5 MiB less private memory a minute into idling. `--no-turbofan`: no optimizing compiler, so
 * its code in the executable is never mapped and no optimized code is kept: idle 15 s after
 * connecting, the agent 68-69 MiB instead of 72-75, the runtime floor 56-58 instead of 61-62.
 * (`--jitless` and `--lite-mode` gave no more at idle; `--max-lazy` and `--single-threaded-gc`
 * cannot be set once the isolate exists: the process traps.)
 */
export const AGENT_V8_FLAGS = ['--semi-space-growth-factor=1', '--optimize-for-size', '--no-turbofan'] as const;

/**
 * While a capture loop runs, V8's defaults again: tile diffing and encoding are hot loops. Capture
 * bench, 96 px square at 30 fps, agent CPU: 23-25 % of a core with the defaults, 77 % without TurboFan
 * for the whole run, 37 % with the two memory flags (one run each; text and video scenes alike).
 */
export const CAPTURE_V8_FLAGS = ['--turbofan', '--no-optimize-for-size', '--semi-space-growth-factor=2'] as const;

let footprint = false;
let captures = 0;

const apply = (flags: readonly string[]) => {
  for (const flag of flags) setFlagsFromString(flag);
};

/** Applies AGENT_V8_FLAGS (the binary's first import); from then on captures switch back and forth. */
export function applyFootprintFlags(): void {
  apply(AGENT_V8_FLAGS);
  footprint = true;
}

/**
 * Called by each capture loop as it starts: V8's defaults while any capture runs, the footprint
 * flags again once the last one stops (optimized code already made stays until V8 drops it). Returns
 * the release, idempotent. Where the footprint flags were never applied (the agent from source,
 * tests, benches; the local stack's agent applies them: GC_AGENT_V8_FOOTPRINT=1, agent/main.ts) it
 * changes nothing.
 */
export function captureRunning(): () => void {
  if (!footprint) return () => {};
  if (captures++ === 0) apply(CAPTURE_V8_FLAGS);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--captures === 0) apply(AGENT_V8_FLAGS);
  };
}
