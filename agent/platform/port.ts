/**
 * The platform port: everything the agent needs from the operating system, behind one interface.
 * Backends: `windows` (Win32 through koffi) and `linux` (utmp, X11, /proc, systemd). Chosen once at
 * start-up by select-platform.ts. Policy (timeouts, output caps, decoding, dedupe) lives in the agent,
 * not here: a backend only provides mechanisms.
 */
import type { guruconnect } from '../../proto/generated/guruconnect.js';
import type { Result } from '../../proto/errors.js';

export type SessionInfo = guruconnect.SessionInfo.$Properties;
export type ServiceList = guruconnect.ServiceList.$Properties;
export type ProcessInfo = guruconnect.ProcessInfo.$Properties;
export type SystemInfo = guruconnect.SystemInfo.$Properties;
export type ControlResult = guruconnect.ControlResult.$Properties;
export type MouseEvent = guruconnect.MouseEvent.$Properties;
export type KeyEvent = guruconnect.KeyEvent.$Properties;
export type Shell = guruconnect.Shell;

export interface HostIdentity {
  hostname: string;
  osVersion: string;
  arch: string;
  /** Windows: running as SYSTEM/Administrator; Linux: root. Switching needs it on Windows. */
  elevated: boolean;
}

export interface SpawnRequest {
  commandText: string;
  shell: Shell;
  /** 0: the agent's own account (Session 0 on Windows); otherwise that session's user. */
  asSessionId: number;
}

/** A started backstage process. Bytes are raw; the agent decodes them with `encoding`. */
export interface SpawnedProcess {
  readonly pid: number;
  /** WHATWG encoding label of stdout/stderr bytes (e.g. 'utf-8', 'ibm866', 'windows-1252'). */
  readonly encoding: string;
  readonly runAsUser: string;
  onData(cb: (stream: 'stdout' | 'stderr', bytes: Uint8Array) => void): void;
  /** Resolves when the process has exited and both pipes are drained. */
  readonly exited: Promise<{ exitCode: number }>;
  /** Kills the process and every descendant. Idempotent. */
  killTree(): Promise<void>;
}

/** One captured frame, 32 bits per pixel, B G R X byte order. */
export interface RawFrame {
  width: number;
  height: number;
  /** Bytes per row (>= width * 4). */
  stride: number;
  data: Uint8Array;
}

/** Capture and input for one session's desktop. */
export interface SessionDesktop {
  readonly sessionId: number;
  /**
   * `recycle`: a frame the caller is done with; when its size fits, its buffer receives the new
   * pixels instead of a fresh 8 MB allocation per 1080p frame (the capture loop's largest cost).
   */
  grab(recycle?: RawFrame): Promise<Result<RawFrame>>;
  mouse(ev: MouseEvent): Result<void>;
  key(ev: KeyEvent): Result<void>;
  /** Clears this session's clipboard (spec open question 5: clear on switch). */
  clearClipboard(): Result<void>;
  close(): void;
}

export interface PlatformPort {
  readonly name: 'windows' | 'linux';
  identity(): Promise<HostIdentity>;
  /** User sessions, Session 0 left out. */
  listSessions(): Promise<Result<SessionInfo[]>>;
  /** Calls `onChange` when the platform notices a session change; returns an unsubscribe. Absent: poll. */
  watchSessions?(onChange: () => void): () => void;
  uptimeSecs(): Promise<number>;
  systemInfo(): Promise<Result<SystemInfo>>;
  /** `cpuSampleMs` > 0 samples CPU over that interval; else cpuPercent is -1. */
  listProcesses(opts: { cpuSampleMs: number }): Promise<Result<ProcessInfo[]>>;
  listServices(): Promise<Result<ServiceList>>;
  controlService(name: string, action: 'start' | 'stop' | 'restart'): Promise<Result<ControlResult>>;
  killProcess(pid: number): Promise<Result<ControlResult>>;
  spawn(req: SpawnRequest): Promise<Result<SpawnedProcess>>;
  /** Opens capture and input on a session's desktop (SESSION_NOT_FOUND / SESSION_NOT_CAPTURABLE). */
  openDesktop(sessionId: number): Promise<Result<SessionDesktop>>;
}
