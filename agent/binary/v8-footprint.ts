/**
 * The single-file agent's V8 settings, applied before any other module of the bundle runs (the first
 * import of sea-main.ts). Node 20's SEA config has no `execArgv`, and heap sizes are fixed once the
 * isolate exists, so only flags V8 reads while running can be set here (measured in
 * test/bench/agent-footprint.bench.ts and the commit that added this file).
 */
import { setFlagsFromString } from 'node:v8';

/**
 * The young generation keeps its initial size instead of doubling up to 2 × 8 MiB: start-up allocates
 * fast enough to grow it to the maximum, and V8 keeps that grown space committed while the agent idles
 * (8-14 MiB of an idle agent's resident memory). What survives a scavenge is small for this agent
 * (protobuf messages, NATS buffers; frames live outside the V8 heap), so the smaller space costs
 * more frequent but short scavenges while capturing.
 */
export const AGENT_V8_FLAGS = ['--semi-space-growth-factor=1'] as const;

for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
