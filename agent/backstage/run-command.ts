/**
 * The backstage command policy on top of `platform.spawn`, the same for every platform: streamed
 * decoded output, an output cap, a timeout and cancellation that kill the whole process tree.
 */
import type { guruconnect } from '../../proto/generated/guruconnect.js';
import { type Result, ok } from '../../proto/errors.js';
import type { PlatformPort, Shell } from '../platform/port.js';
import { type OutputChunk, OutputCollector } from './output-collector.js';

export type CommandOutput = guruconnect.CommandOutput.$Properties;
export type { OutputChunk };

export interface RunCommandRequest {
  commandId: string;
  commandText: string;
  shell: Shell;
  timeoutMs: number;
  capBytes: number;
  asSessionId: number;
}

export const DEFAULT_CAP_BYTES = 100 * 1024;
/** After a kill, how long to wait for the pipes to close before reporting anyway. */
const KILL_GRACE_MS = 5000;

/**
 * Runs one command to completion. Output goes to `onChunk` while it runs; the result carries the
 * same capped text in stdout/stderr. Spawn failures (unknown session, missing shell) are errors.
 */
export async function runCommand(platform: PlatformPort, req: RunCommandRequest, onChunk: (c: OutputChunk) => void, signal: AbortSignal): Promise<Result<CommandOutput>> {
  const started = performance.now();
  const capBytes = req.capBytes > 0 ? req.capBytes : DEFAULT_CAP_BYTES;
  if (signal.aborted) {
    return ok({ stdout: '', stderr: '', exitCode: -1, truncated: false, timedOut: false, cancelled: true, durationMs: 0, outputBytes: 0, runAsUser: '' });
  }
  const spawned = await platform.spawn({ commandText: req.commandText, shell: req.shell, asSessionId: req.asSessionId });
  if (!spawned.ok) return spawned;
  const proc = spawned.value;
  const out = new OutputCollector({ encoding: proc.encoding, capBytes }, onChunk);
  proc.onData((stream, bytes) => out.push(stream, bytes));

  let timedOut = false;
  let cancelled = false;
  let killed: Promise<void> | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let giveUp: (code: number) => void = () => {};
  // Once killed, a descendant that escaped the kill could hold the pipes open forever: bound the wait.
  const gaveUp = new Promise<number>((resolve) => {
    giveUp = resolve;
  });
  const kill = () => {
    killed ??= proc.killTree().then(() => {
      graceTimer = setTimeout(() => giveUp(-1), KILL_GRACE_MS);
    });
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, req.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    kill();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  // Cancelled while the process was being started: the event has already fired.
  if (signal.aborted) onAbort();

  let exitCode: number;
  try {
    exitCode = await Promise.race([proc.exited.then((e) => e.exitCode), gaveUp]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
  if (killed) await killed;
  clearTimeout(graceTimer);
  out.finish();
  return ok({
    stdout: out.text('stdout'),
    stderr: out.text('stderr'),
    exitCode,
    truncated: out.truncated,
    timedOut,
    cancelled,
    durationMs: Math.round(performance.now() - started),
    outputBytes: out.producedBytes,
    runAsUser: proc.runAsUser,
  });
}
