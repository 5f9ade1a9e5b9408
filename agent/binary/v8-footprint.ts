/**
 * The single-file agent's V8 settings, applied before any other module of the bundle runs (the first
 * import of sea-main.ts). Node 20's SEA config has no `execArgv`, and heap sizes are fixed once the
 * isolate exists, so only flags V8 reads while running can be set here (measured in
 * test/bench/agent-footprint.bench.ts and the commit that added this file).
 */
import { setFlagsFromString } from 'node:v8';

/**
 * `--semi-space-growth-factor=1`: the young generation keeps its initial size instead of doubling up
 * to 2 × 8 MiB: start-up allocates fast enough to grow it to the maximum, and V8 keeps that space
 * committed while the agent idles (6-14 MiB of an idle agent's resident memory). What survives a
 * scavenge is small for this agent (protobuf messages, NATS buffers; frames live outside the V8 heap).
 * `--optimize-for-size`: V8's memory-over-speed choices (the flag Chrome sets on low-memory devices);
 * 0.3-5 MiB less private memory a minute into idling and ~10 MiB less while capturing.
 * Both measured with a viewer watching a moving square: capture CPU time and tiles sent unchanged
 * within the noise of a shared machine.
 * `--no-turbofan`: no optimizing compiler until the first live view turns it on
 * (agent/frames/optimizing-compiler.ts). Measured idle, 15 s after connecting: the agent 4-5 MiB lower
 * (text of the executable -3 MiB: the compiler's code is never mapped; private -1.4 MiB), the runtime
 * floor likewise. Not for the whole run: the capture loop without TurboFan took 3 times the CPU.
 * (`--jitless`, `--lite-mode` gave no more at idle; `--max-lazy` and `--single-threaded-gc` cannot be
 * set once the isolate exists: the process traps.)
 */
export const AGENT_V8_FLAGS = ['--semi-space-growth-factor=1', '--optimize-for-size', '--no-turbofan'] as const;

for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
