/**
 * Which viewer watches which session, and one capture per watched session (shared by its viewers,
 * stopped when nobody watches). A switch moves one viewer only; other viewers keep their session.
 */
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import { type Logger, withCorrelation } from '../../proto/log/logger.js';
import type { PlatformPort, SessionDesktop, SessionInfo } from '../platform/port.js';

const { SessionState } = guruconnect;

/** A running capture of one session; the agent's frame pipeline implements it. */
export interface Capture {
  requestKeyframe(): void;
  setFps(n: number): void;
  setQuality(q: number): void;
  stop(): Promise<void>;
}
export type StartCapture = (desktop: SessionDesktop) => Capture;

/** The frame rate and quality one viewer asks for (its gateway lowers them while it falls behind). */
export interface Pace {
  fps?: number;
  quality?: number;
}

interface Viewer {
  sessionId: number;
  control: boolean;
  leaseUntil: number;
  fps: number;
  quality: number;
}
interface Captured {
  desktop: SessionDesktop;
  capture: Capture;
  /** Set while nobody watches: the desktop closes when it fires, unless a viewer comes back. */
  linger?: NodeJS.Timeout;
  /**
   * Set while nobody watches: the loop is stopped (this settles once its last frame is done) but the
   * desktop stays open, so an unwatched session costs no grabs and coming back costs no reopen.
   */
  paused?: Promise<void>;
  /** What the capture runs at now ("fps/quality"), so it is only told about changes. */
  pace?: string;
}

/** How long an unwatched capture stays up: switching back and forth then costs no desktop reopen. */
const LINGER_MS = 5000;

export interface ViewerManagerDeps {
  platform: PlatformPort;
  sessions: () => SessionInfo[];
  startCapture: StartCapture;
  maxCaptures: number;
  /** A viewer that does not renew its stream within this time is dropped (its gateway went away). */
  leaseMs: number;
  elevated: boolean;
  /** The agent's own ceiling (GC_CAPTURE_FPS) and the quality a viewer gets unless it asks for less. */
  maxFps: number;
  quality: number;
  /** The agent's logger; a viewer's lines carry its viewer id as the correlation id. */
  log: Logger;
}

export interface SwitchOutcome {
  from: number;
  to: number;
  noop: boolean;
}

/** An integer within [lo, hi], or undefined when `n` is absent or 0 (proto3's "not set"). */
const clampInt = (n: number | undefined, lo: number, hi: number) => (n ? Math.max(lo, Math.min(hi, Math.round(n))) : undefined);

export function createViewerManager(deps: ViewerManagerDeps) {
  const viewers = new Map<string, Viewer>();
  const captures = new Map<number, Captured>();
  const opening = new Map<number, Promise<Result<Captured>>>();
  let lastSessionId = 0;

  const validate = (sessionId: number): Result<SessionInfo> => {
    const s = deps.sessions().find((x) => x.sessionId === sessionId);
    if (!s) return err(ErrorCode.SESSION_NOT_FOUND, `session ${sessionId} is not in the machine's session list; refresh the list and pick another`);
    if (!s.capturable) {
      // A Windows agent that is not SYSTEM sees other sessions' desktops only through helpers it cannot start.
      if (deps.platform.name === 'windows' && !deps.elevated && s.userName && s.state !== SessionState.SESSION_DISCONNECTED) {
        return err(ErrorCode.AGENT_NOT_ELEVATED, `session ${sessionId} (${s.userName}) is not the agent's own: the agent must run as SYSTEM to show other sessions; reinstall it as a service`);
      }
      return err(ErrorCode.SESSION_NOT_CAPTURABLE, `session ${sessionId} (${s.userName}) has no desktop to show; use backstage for text-only sessions`);
    }
    return ok(s);
  };

  const stopCapture = async (sessionId: number) => {
    const c = captures.get(sessionId);
    if (!c) return;
    clearTimeout(c.linger);
    captures.delete(sessionId);
    await c.capture.stop();
    c.desktop.close();
  };

  const ensureCapture = async (sessionId: number): Promise<Result<Captured>> => {
    const have = captures.get(sessionId);
    if (have) {
      clearTimeout(have.linger);
      have.linger = undefined;
      const paused = have.paused;
      have.paused = undefined;
      if (paused) {
        await paused;
        have.capture = deps.startCapture(have.desktop);
        have.pace = undefined;
      }
      return ok(have);
    }
    const pending = opening.get(sessionId);
    if (pending) return pending;
    // A lingering capture gives way to one somebody wants now.
    const idle = [...captures.entries()].find(([, c]) => c.linger !== undefined);
    if (captures.size + opening.size >= deps.maxCaptures && idle) await stopCapture(idle[0]);
    if (captures.size + opening.size >= deps.maxCaptures) {
      return Promise.resolve(err(ErrorCode.CAPACITY_EXCEEDED, `this agent already captures ${deps.maxCaptures} sessions; close a viewer or raise GC_MAX_CAPTURES`));
    }
    const p = deps.platform.openDesktop(sessionId).then((r): Result<Captured> => {
      opening.delete(sessionId);
      if (!r.ok) return r;
      const c = { desktop: r.value, capture: deps.startCapture(r.value) };
      captures.set(sessionId, c);
      return ok(c);
    });
    opening.set(sessionId, p);
    return p;
  };

  const release = async (sessionId: number, now = false) => {
    if ([...viewers.values()].some((v) => v.sessionId === sessionId)) return;
    const c = captures.get(sessionId);
    if (!c) return;
    if (now) return stopCapture(sessionId);
    clearTimeout(c.linger);
    c.paused ??= c.capture.stop();
    c.linger = setTimeout(() => void stopCapture(sessionId).catch((e) => deps.log.warn({ session_id: sessionId, err: e }, `stopping capture ${sessionId} failed`)), LINGER_MS);
  };

  /**
   * One capture serves every viewer of a session: it runs at the fastest rate any of them asks for
   * (a slower viewer's relay drops what it cannot take) and at the lowest quality any asks for
   * (smaller frames are what helps a viewer that falls behind; the others lose a little sharpness).
   */
  const applyPace = (sessionId: number) => {
    const c = captures.get(sessionId);
    const watchers = [...viewers.values()].filter((v) => v.sessionId === sessionId);
    if (!c || c.linger !== undefined || !watchers.length) return;
    const fps = Math.min(deps.maxFps, Math.max(...watchers.map((v) => v.fps)));
    const quality = Math.min(...watchers.map((v) => v.quality));
    const key = `${fps}/${quality}`;
    if (c.pace === key) return;
    c.pace = key;
    c.capture.setFps(fps);
    c.capture.setQuality(quality);
  };
  const paceOf = (p: Pace | undefined, prev?: Viewer) => ({
    fps: clampInt(p?.fps, 1, deps.maxFps) ?? prev?.fps ?? deps.maxFps,
    // GC_CAPTURE_QUALITY is a ceiling like GC_CAPTURE_FPS: a viewer may ask for less, never more.
    quality: clampInt(p?.quality, 1, deps.quality) ?? prev?.quality ?? deps.quality,
  });

  const viewerLog = (viewerId: string) => withCorrelation(deps.log, viewerId);

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [id, v] of viewers) {
        if (v.leaseUntil < now) {
          viewerLog(id).info({ session_id: v.sessionId }, 'viewer stream dropped: its lease expired');
          viewers.delete(id);
          void release(v.sessionId);
          applyPace(v.sessionId);
        }
      }
    },
    Math.max(1000, Math.floor(deps.leaseMs / 3)),
  );

  return {
    /** Starts (or renews) a viewer's stream on a session; a renewal on the same session is cheap. */
    async start(viewerId: string, sessionId: number, control: boolean, pace?: Pace): Promise<Result<void>> {
      const v = validate(sessionId);
      if (!v.ok) return v;
      const existing = viewers.get(viewerId);
      if (existing && existing.sessionId === sessionId) {
        existing.leaseUntil = Date.now() + deps.leaseMs;
        existing.control = control;
        Object.assign(existing, paceOf(pace, existing));
        applyPace(sessionId);
        return ok(undefined);
      }
      const c = await ensureCapture(sessionId);
      if (!c.ok) return c;
      const old = existing?.sessionId;
      viewers.set(viewerId, { sessionId, control, leaseUntil: Date.now() + deps.leaseMs, ...paceOf(pace, existing) });
      viewerLog(viewerId).info({ session_id: sessionId, from_session_id: old, control }, `viewer stream started on session ${sessionId}`);
      c.value.capture.requestKeyframe();
      lastSessionId = sessionId;
      applyPace(sessionId);
      if (old !== undefined) {
        await release(old);
        applyPace(old);
      }
      return ok(undefined);
    },

    /** Moves one viewer to another session; switching to the session already shown is a no-op. */
    async switch(viewerId: string, target: number): Promise<Result<SwitchOutcome>> {
      const viewer = viewers.get(viewerId);
      const from = viewer?.sessionId ?? 0;
      const v = validate(target);
      if (!v.ok) return v;
      if (viewer && from === target) return ok({ from, to: target, noop: true });
      const c = await ensureCapture(target);
      if (!c.ok) return c;
      viewers.set(viewerId, { sessionId: target, control: viewer?.control ?? true, leaseUntil: Date.now() + deps.leaseMs, ...paceOf(undefined, viewer) });
      c.value.capture.requestKeyframe();
      lastSessionId = target;
      applyPace(target);
      if (viewer) applyPace(from);
      // The old capture winds down after the answer: the viewer waits only for the new one.
      const vlog = viewerLog(viewerId);
      vlog.info({ session_id: target, from_session_id: from }, `viewer switched to session ${target}`);
      if (viewer) void release(from).catch((e) => vlog.warn({ session_id: from, err: e }, `releasing session ${from} failed`));
      return ok({ from, to: target, noop: false });
    },

    async stop(viewerId: string): Promise<void> {
      const v = viewers.get(viewerId);
      if (!v) return;
      viewers.delete(viewerId);
      viewerLog(viewerId).info({ session_id: v.sessionId }, 'viewer stream stopped');
      await release(v.sessionId);
      applyPace(v.sessionId);
    },

    keyframe(sessionId: number): void {
      captures.get(sessionId)?.capture.requestKeyframe();
    },

    /** Every capture sends a full frame next (after a reconnect, earlier frames may be lost). */
    keyframeAll(): void {
      for (const c of captures.values()) c.capture.requestKeyframe();
    },

    /** The desktop a viewer may send input to, or why not. */
    inputTarget(viewerId: string, sessionId: number): Result<SessionDesktop> {
      const v = viewers.get(viewerId);
      if (!v || v.sessionId !== sessionId) return err(ErrorCode.FORBIDDEN, 'input for a session this viewer is not watching is dropped');
      if (!v.control) return err(ErrorCode.FORBIDDEN, 'view-only viewers cannot send input');
      const c = captures.get(sessionId);
      return c ? ok(c.desktop) : err(ErrorCode.SESSION_NOT_FOUND, `session ${sessionId} is not being captured`);
    },

    currentSessionId: () => lastSessionId,
    /** Sessions captured for at least one viewer (lingering captures excluded). */
    watchedSessions: () => [...captures.entries()].filter(([, c]) => c.linger === undefined).map(([s]) => s),
    viewerSession: (viewerId: string) => viewers.get(viewerId)?.sessionId,

    async close(): Promise<void> {
      clearInterval(sweep);
      viewers.clear();
      await Promise.all([...captures.keys()].map((s) => release(s, true)));
    },
  };
}
