/** Several backstage commands at once, addressed by command id, with a concurrency ceiling. */
import { ErrorCode, type Result, err } from '../../proto/errors.js';
import type { PlatformPort, Shell } from '../platform/port.js';
import { type CommandOutput, DEFAULT_CAP_BYTES, type OutputChunk, runCommand } from './run-command.js';

export interface RunnerOptions {
  maxConcurrent?: number;
  defaultTimeoutMs?: number;
  maxTimeoutMs?: number;
}

export interface RunnerRequest {
  commandId: string;
  commandText: string;
  shell: Shell;
  /** 0 or absent: the default; above the maximum: clamped to it. */
  timeoutMs?: number;
  /** 0 or absent: 100 KB. */
  capBytes?: number;
  asSessionId: number;
}

export interface BackstageRunner {
  /** Runs a command; CAPACITY_EXCEEDED when maxConcurrent are running, CONFLICT on a running id. */
  run(req: RunnerRequest, onChunk: (c: OutputChunk) => void): Promise<Result<CommandOutput>>;
  /** Cancels a running command; false when no command with that id is running. */
  cancel(commandId: string): boolean;
  /** Ids of the commands running now. */
  running(): string[];
  /** Cancels everything (agent shutdown). */
  cancelAll(): void;
}

/** Makes a runner over `platform`; defaults: 8 at once, 60 s timeout, 600 s max. */
export function createBackstageRunner(platform: PlatformPort, opts: RunnerOptions = {}): BackstageRunner {
  const { maxConcurrent = 8, defaultTimeoutMs = 60_000, maxTimeoutMs = 600_000 } = opts;
  const active = new Map<string, AbortController>();
  return {
    async run(req, onChunk) {
      if (!req.commandId) return err(ErrorCode.VALIDATION_FAILED, 'commandId is required');
      if (!req.commandText.trim()) return err(ErrorCode.VALIDATION_FAILED, 'command text is empty');
      if (active.has(req.commandId)) return err(ErrorCode.CONFLICT, `command ${req.commandId} is already running`);
      if (active.size >= maxConcurrent) {
        return err(ErrorCode.CAPACITY_EXCEEDED, `${maxConcurrent} backstage commands are already running; wait for one to finish or cancel one`);
      }
      const ac = new AbortController();
      active.set(req.commandId, ac);
      try {
        const timeoutMs = Math.min(req.timeoutMs && req.timeoutMs > 0 ? req.timeoutMs : defaultTimeoutMs, maxTimeoutMs);
        const capBytes = req.capBytes && req.capBytes > 0 ? req.capBytes : DEFAULT_CAP_BYTES;
        return await runCommand(platform, { ...req, timeoutMs, capBytes }, onChunk, ac.signal);
      } finally {
        active.delete(req.commandId);
      }
    },
    cancel(commandId) {
      const ac = active.get(commandId);
      if (!ac) return false;
      ac.abort();
      return true;
    },
    running: () => [...active.keys()],
    cancelAll() {
      for (const ac of active.values()) ac.abort();
    },
  };
}
