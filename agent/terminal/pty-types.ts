/**
 * What the terminal manager needs from the platform: a shell on a pseudo-terminal. Kept here, not in
 * platform/port.ts, because the port is a shared contract; a backend without it has no interactive terminal.
 */
import type { Result } from '../../proto/errors.js';
import type { Shell } from '../platform/port.js';

export interface PtyRequest {
  cols: number;
  rows: number;
  shell: Shell;
  /** 0: the agent's own account; otherwise that session's user. */
  asSessionId: number;
}

/** A shell running on a pseudo-terminal; bytes are raw terminal output (UTF-8 from a Linux shell). */
export interface PtyProcess {
  /** The process the backend started (its tree is everything the terminal runs). */
  readonly pid: number;
  readonly runAsUser: string;
  onData(cb: (bytes: Uint8Array) => void): void;
  write(bytes: Uint8Array): void;
  resize(cols: number, rows: number): Promise<Result<void>>;
  /** The interactive shell's own pid, once it runs (tests check it is gone after close). */
  shellPid(): Promise<number | undefined>;
  /** Resolves when the shell ended and its output is drained. */
  readonly exited: Promise<{ exitCode: number }>;
  /** Kills the shell and every descendant. Idempotent. */
  killTree(): Promise<void>;
}

export type SpawnPty = (req: PtyRequest) => Promise<Result<PtyProcess>>;
