/**
 * Relays one session's frames from NATS to one browser socket. Never queues: when the socket falls
 * behind, frames are dropped and a keyframe is requested once it has drained, so the viewer always
 * catches up to the present instead of replaying the past.
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { decode } from '../../../proto/codec.js';
import type { AgentId } from '../../../proto/ids.js';
import { subjects } from '../../../proto/subjects.js';
import type { FrameFlow } from './frame-flow.js';

export interface FrameSocket {
  readonly bufferedAmount: number;
  send(data: Uint8Array, opts: { binary: true }): void;
}

export interface FrameRelay {
  readonly sessionId: number;
  /**
   * `behind`: frames dropped because the socket was backed up (the viewer cannot keep up);
   * `offered`/`offeredBytes`: every frame of the session the agent published while not held, forwarded or not (what the pace sizes to the link).
   */
  readonly stats: { forwarded: number; dropped: number; behind: number; offered: number; offeredBytes: number };
  /** Since the previous call (or the start): whether frames were dropped behind, and what the agent offered (one pace window). */
  takeWindow(): { behind: boolean; offered: { frames: number; bytes: number } };
  /** Starts forwarding a held relay: the latest keyframe and what followed it go out first. */
  release(): void;
  stop(): void;
}

export interface RelayOptions {
  /** When this gateway's NATS connection last came back (0: never lost). */
  reconnectedAt?: () => number;
  /**
   * Subscribe now but forward nothing until release(): a switch subscribes to the target session
   * before it asks the agent to switch, so the keyframe the agent sends right away is not missed.
   */
  held?: boolean;
  /** Frames in flight to this socket's page (frame-flow.ts): over its budget, frames are dropped as when the socket backs up. */
  flow?: FrameFlow;
}

/** Above this many unsent bytes the viewer is behind: drop frames. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 512 * 1024;
/** A held relay keeps at most this much (one keyframe and the deltas after it). */
const HOLD_MAX_BYTES = 4 * 1024 * 1024;

export function relayFrames(nc: NatsConnection, agentId: AgentId, sessionId: number, socket: FrameSocket, requestKeyframe: () => void, opts: RelayOptions = {}): FrameRelay {
  const reconnectedAt = opts.reconnectedAt ?? (() => 0);
  const stats = { forwarded: 0, dropped: 0, behind: 0, offered: 0, offeredBytes: 0 };
  let taken = { behind: 0, offered: 0, offeredBytes: 0 };
  let needKeyframe = true;
  let held = opts.held === true;
  let hold: Uint8Array[] = [];
  let holdBytes = 0;
  let lastAsk = 0;
  /** Capture time of the last keyframe forwarded: the later parts of a split keyframe carry it too and must follow it. */
  let keyCapturedAt: unknown;
  const ask = () => {
    const now = Date.now();
    if (now - lastAsk < 500) return;
    lastAsk = now;
    requestKeyframe();
  };
  const sub: Subscription = nc.subscribe(subjects.frame(agentId, sessionId), {
    callback: (e, m) => {
      if (e) return;
      const r = decode(m.data, m.subject);
      // A frame of another session can never reach this viewer (the subject already says so; this
      // guards against a confused agent).
      if (!r.ok || r.value.videoFrame?.sessionId !== sessionId) return;
      const keyframe = r.value.videoFrame.keyframe === true;
      if (held) {
        if (keyframe) {
          hold = [];
          holdBytes = 0;
        } else if (!hold.length) return;
        hold.push(m.data);
        holdBytes += m.data.byteLength;
        if (holdBytes > HOLD_MAX_BYTES) {
          hold = [];
          holdBytes = 0;
        }
        return;
      }
      stats.offered++;
      stats.offeredBytes += m.data.byteLength;
      const capturedAt = String(r.value.videoFrame.capturedAtMs);
      const restOfKeyframe = !keyframe && !needKeyframe && capturedAt === keyCapturedAt;
      if (socket.bufferedAmount > HIGH_WATER || (opts.flow?.congested && !restOfKeyframe)) {
        stats.dropped++;
        stats.behind++;
        needKeyframe = true;
        return;
      }
      if (needKeyframe && !keyframe) {
        stats.dropped++;
        // The keyframe is the whole screen: asked for while the page still has frames coming, it
        // queues behind them and the deltas that follow it pile up, over the budget again.
        if (socket.bufferedAmount < LOW_WATER && (opts.flow?.inFlightFrames ?? 0) <= 1) ask();
        return;
      }
      needKeyframe = false;
      if (keyframe) keyCapturedAt = capturedAt;
      socket.send(m.data, { binary: true });
      opts.flow?.sent(m.data.byteLength);
      stats.forwarded++;
    },
  });
  // A held relay waits for the keyframe the switch itself produces.
  if (!held) ask();
  // On a still screen no delta arrives to trigger ask(): keep asking until a keyframe got through
  // (frames travel on core NATS, so one can be lost).
  // After a reconnect, frames published while this gateway was away are gone: start from a keyframe.
  let seenReconnect = reconnectedAt();
  const retry = setInterval(() => {
    const r = reconnectedAt();
    if (r !== seenReconnect) {
      seenReconnect = r;
      needKeyframe = true;
    }
    if (needKeyframe && !held) ask();
  }, 1000);
  return {
    sessionId,
    stats,
    takeWindow() {
      const w = { behind: stats.behind > taken.behind, offered: { frames: stats.offered - taken.offered, bytes: stats.offeredBytes - taken.offeredBytes } };
      taken = { behind: stats.behind, offered: stats.offered, offeredBytes: stats.offeredBytes };
      return w;
    },
    release() {
      if (!held) return;
      held = false;
      for (const data of hold) {
        socket.send(data, { binary: true });
        opts.flow?.sent(data.byteLength);
      }
      stats.forwarded += hold.length;
      if (hold.length) needKeyframe = false;
      else ask();
      hold = [];
    },
    stop: () => {
      clearInterval(retry);
      sub.unsubscribe();
    },
  };
}
