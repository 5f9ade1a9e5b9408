/**
 * The viewer connection as a decider (Emmett style): `decide(state, message, facts)` says what
 * happened (events), what the socket must do (effects) and what it answers (reply), without doing
 * any of it; `evolve(state, event)` folds what happened into the next state. Both are pure, so the
 * whole state machine (watching, control, switching, backstage, input budget) is tested
 * given / when / then without servers (test/unit/viewer-decider.unit.test.ts).
 */
import { ErrorCode, type Result } from '../../../proto/errors.js';
import { can } from '../../auth/policy.js';
import type { SwitchOutcome } from '../use-cases/switch-session.js';
import { type ClientMessage, MAX_INPUT_PER_SEC } from './protocol.js';
import type { PaceWindow } from './stream-pace.js';

export type BackstageMessage = Extract<ClientMessage, { t: `backstage.${string}` }>;
export type TerminalMessage = Extract<ClientMessage, { t: `terminal.${string}` }>;
export type InputMessage = Extract<ClientMessage, { t: 'input' }>;

/** Everything a viewer connection remembers between messages. */
export interface ViewerState {
  readonly viewerId: string;
  readonly role: string;
  readonly mode: 'screen' | 'backstage';
  /** The Windows session whose frames this viewer receives, if any. */
  readonly watching: number | undefined;
  /** Whether this viewer's input reaches the machine (role and the viewer's own view-only choice). */
  readonly control: boolean;
  /** Whether viewer_joined was recorded (once per connection). */
  readonly joined: boolean;
  /** The target of the switch the agent is working on. */
  readonly switching: number | undefined;
  /** Input events in the current one-second window, and how many were dropped over the connection. */
  readonly input: { readonly windowStart: number; readonly count: number; readonly dropped: number };
  /** The browser said it dropped frames since the last pace window. */
  readonly browserBehind: boolean;
}

/** What happened to a viewer connection: past-tense facts, folded by `evolve`. */
export type ViewerEvent =
  | { type: 'Watched'; sessionId: number; control: boolean }
  | { type: 'Joined' }
  | { type: 'WatchStopped' }
  | { type: 'SwitchRequested'; to: number }
  | { type: 'SwitchEnded' }
  | { type: 'InputForwarded'; at: number }
  | { type: 'InputDropped'; at: number }
  | { type: 'BrowserFellBehind' }
  | { type: 'PaceWindowClosed' }
  | { type: 'BackstageEntered' }
  | { type: 'BackstageExited' };

/** What the socket must do; the shell (viewer-socket.ts) runs them in order. */
export type ViewerEffect =
  /** Start (or move) this viewer's stream; `fromSwitch` uses the frames subscribed before the switch left. */
  | { type: 'watch'; sessionId: number; control: boolean; fromSwitch: boolean }
  | { type: 'stopWatching' }
  /** Run the switch use case; its outcome comes back as a `switch.done` message. */
  | { type: 'switch'; to: number; from: number; req: string | undefined }
  /** Forget the frames subscribed for a switch that failed or whose viewer left. */
  | { type: 'dropSwitchFrames' }
  /** Let the frames held during the switch through (after the `switched` reply). */
  | { type: 'releaseSwitchFrames' }
  | { type: 'input'; message: InputMessage }
  | { type: 'keyframe'; sessionId: number }
  | { type: 'pace'; window: PaceWindow }
  | { type: 'framesAcked'; frames: number }
  | { type: 'sendSessions' }
  | { type: 'audit'; eventType: string; details: Record<string, unknown>; windowsSessionId?: number }
  | { type: 'backstage'; message: Exclude<BackstageMessage, { t: 'backstage.enter' | 'backstage.exit' }> }
  | { type: 'terminal'; message: TerminalMessage }
  | { type: 'closeTerminal'; reason: string }
  | { type: 'cancelBackstageRuns' }
  | { type: 'viewerLeft'; inputDropped: number };

/** Messages from the gateway itself, next to the browser's. */
export type InternalMessage =
  /** `serverTiming`: the switch's hops (GC_SERVER_TIMING), carried by the `switched` reply as REST carries them in Server-Timing. */
  | { t: 'switch.done'; to: number; req: string | undefined; result: Result<SwitchOutcome>; socketOpen: boolean; serverTiming?: string }
  /** The agent refused to start this viewer's stream (a failed SessionSwitched carrying our viewer id). */
  | { t: 'stream.refused'; sessionId: number; code: ErrorCode; message: string }
  /** One pace window ended: what the relay saw in it (`behind`: it dropped frames for this viewer's socket or budget). */
  | { t: 'pace.window'; relay: PaceWindow }
  | { t: 'closed' };

export type ViewerMessage = ClientMessage | InternalMessage;

/** What the gateway knows when it decides: the clock, and for `watch` the machine as read. */
export interface ViewerFacts {
  now: number;
  machine?: { online: boolean; currentSessionId: number } | undefined;
  sessions?: readonly { id: number; capturable: boolean; user?: string; type?: string }[];
}

export type Reply = Record<string, unknown> & { t: string };

export interface Decision {
  events: ViewerEvent[];
  effects: ViewerEffect[];
  reply?: Reply;
  /** Effects that must follow the reply (frames of a new session only after `switched`). */
  afterReply?: ViewerEffect[];
}

const INPUT_WINDOW_MS = 1000;

export function initialViewerState(viewerId: string, role: string, now: number): ViewerState {
  return { viewerId, role, mode: 'screen', watching: undefined, control: false, joined: false, switching: undefined, input: { windowStart: now, count: 0, dropped: 0 }, browserBehind: false };
}

const nothing = (): Decision => ({ events: [], effects: [] });

function error(state: ViewerState, code: ErrorCode, message: string, req?: string): Reply {
  return { t: 'error', error_code: code, message, correlation_id: state.viewerId, ...(req ? { req } : {}) };
}

/** The reference a backstage or terminal message is answered under. */
function reqOf(m: BackstageMessage | TerminalMessage): string | undefined {
  if (m.t.startsWith('terminal.')) return 'terminal';
  return 'req' in m ? m.req : 'id' in m ? m.id : undefined;
}

/** Decides one message; pure. */
export function decide(state: ViewerState, m: ViewerMessage, facts: ViewerFacts): Decision {
  switch (m.t) {
    case 'watch':
      return decideWatch(state, m, facts);
    case 'switch':
      return decideSwitch(state, m);
    case 'switch.done':
      return decideSwitchDone(state, m);
    case 'input':
      return decideInput(state, m, facts.now);
    case 'keyframe':
      if (state.watching === undefined) return nothing();
      return { events: m.behind ? [{ type: 'BrowserFellBehind' }] : [], effects: [{ type: 'keyframe', sessionId: state.watching }] };
    case 'ack':
      return { events: [], effects: [{ type: 'framesAcked', frames: m.frames }] };
    case 'sessions':
      return { events: [], effects: [{ type: 'sendSessions' }] };
    case 'stream.refused':
      // While a switch runs, its own answer reports the failure; this one would say it twice.
      if (state.switching !== undefined) return nothing();
      return { events: [], effects: [], reply: error(state, m.code, `could not start the stream of session ${m.sessionId}: ${m.message}`) };
    case 'pace.window':
      if (state.watching === undefined) return nothing();
      return { events: [{ type: 'PaceWindowClosed' }], effects: [{ type: 'pace', window: { ...m.relay, behind: m.relay.behind || state.browserBehind } }] };
    case 'closed':
      return decideClosed(state);
    default:
      return decideBackstage(state, m);
  }
}

function decideWatch(state: ViewerState, m: Extract<ClientMessage, { t: 'watch' }>, facts: ViewerFacts): Decision {
  const allowed = can({ role: state.role }, 'machines.read');
  if (!allowed.allowed) return { events: [], effects: [], reply: error(state, ErrorCode.FORBIDDEN, allowed.reason) };
  if (!facts.machine?.online) return { events: [], effects: [], reply: error(state, ErrorCode.AGENT_OFFLINE, 'the machine is offline; wait for its agent to reconnect') };
  const sessions = facts.sessions ?? [];
  const capturable = sessions.filter((s) => s.capturable);
  const current = facts.machine.currentSessionId;
  const target = m.session_id ?? (capturable.some((s) => s.id === current) ? current : capturable[0]?.id);
  if (target === undefined) return { events: [], effects: [], reply: error(state, ErrorCode.SESSION_NOT_FOUND, 'this machine has no session with a desktop; use backstage') };
  const s = sessions.find((x) => x.id === target);
  if (!s) return { events: [], effects: [], reply: error(state, ErrorCode.SESSION_NOT_FOUND, `session ${target} is not in the machine's latest session list; pick one from the list`) };
  if (!s.capturable)
    return { events: [], effects: [], reply: error(state, ErrorCode.SESSION_NOT_CAPTURABLE, `session ${target} (${s.user ?? '?'}, ${s.type ?? '?'}) has no desktop; use backstage for it`) };
  const control = can({ role: state.role }, 'session.control').allowed && m.view_only !== true;
  const events: ViewerEvent[] = [{ type: 'Watched', sessionId: target, control }];
  const effects: ViewerEffect[] = [{ type: 'watch', sessionId: target, control, fromSwitch: false }];
  if (!state.joined) {
    events.push({ type: 'Joined' });
    effects.push({ type: 'audit', eventType: 'viewer_joined', details: { session_type: control ? 'screen_control' : 'view_only' }, windowsSessionId: target });
  }
  return { events, effects, reply: { t: 'watching', session_id: target, control } };
}

function decideSwitch(state: ViewerState, m: Extract<ClientMessage, { t: 'switch' }>): Decision {
  const from = state.watching ?? 0;
  // A refused role goes to the switch use case, which refuses and audits it as REST would.
  if (!can({ role: state.role }, 'session.switch').allowed) return { events: [], effects: [{ type: 'switch', to: m.session_id, from, req: m.req }] };
  if (m.session_id === state.watching) return { events: [], effects: [], reply: { t: 'switched', ok: true, from, to: from, noop: true, req: m.req } };
  // One switch at a time: the frames subscribed for it and the answer it waits for are this viewer's one pending switch.
  if (state.switching !== undefined) return { events: [], effects: [], reply: error(state, ErrorCode.CONFLICT, `a switch to session ${state.switching} is under way; wait for its answer`, m.req) };
  return { events: [{ type: 'SwitchRequested', to: m.session_id }], effects: [{ type: 'switch', to: m.session_id, from, req: m.req }] };
}

function decideSwitchDone(state: ViewerState, m: Extract<InternalMessage, { t: 'switch.done' }>): Decision {
  // A refused role never started a switch: nothing pends, only the refusal is answered.
  const events: ViewerEvent[] = state.switching === m.to ? [{ type: 'SwitchEnded' }] : [];
  // The technician left while the agent switched: nothing may keep streaming to a closed socket.
  if (!m.socketOpen) return { events, effects: [{ type: 'dropSwitchFrames' }] };
  if (!m.result.ok) return { events, effects: [{ type: 'dropSwitchFrames' }], reply: error(state, m.result.error.code, m.result.error.message, m.req) };
  const s = m.result.value;
  return {
    events: [...events, { type: 'Watched', sessionId: m.to, control: state.control }],
    // The old session's frames stop before the viewer hears "switched"; the new ones follow it.
    effects: [{ type: 'watch', sessionId: m.to, control: state.control, fromSwitch: true }],
    // Clipboard state is per session (spec, open question 5): the browser drops what it held.
    reply: {
      t: 'switched',
      ok: true,
      from: s.fromSessionId,
      to: m.to,
      duration_ms: s.durationMs,
      command_id: s.commandId,
      clipboard_cleared: true,
      req: m.req,
      ...(m.serverTiming === undefined ? {} : { server_timing: m.serverTiming }),
    },
    afterReply: [{ type: 'releaseSwitchFrames' }],
  };
}

function decideInput(state: ViewerState, m: InputMessage, now: number): Decision {
  if (!state.control || m.session_id !== state.watching) return nothing();
  const count = now - state.input.windowStart >= INPUT_WINDOW_MS ? 0 : state.input.count;
  if (count + 1 > MAX_INPUT_PER_SEC) return { events: [{ type: 'InputDropped', at: now }], effects: [] };
  return { events: [{ type: 'InputForwarded', at: now }], effects: [{ type: 'input', message: m }] };
}

function decideBackstage(state: ViewerState, m: BackstageMessage | TerminalMessage): Decision {
  const req = reqOf(m);
  const allowed = can({ role: state.role }, 'backstage');
  if (!allowed.allowed) {
    // Checked for every message, whatever the UI showed; denials are folded by the audit publisher.
    return {
      events: [],
      effects: [{ type: 'audit', eventType: 'access_denied', details: { action: m.t, reason: allowed.reason } }],
      reply: error(state, ErrorCode.FORBIDDEN, 'backstage is for admins only; this attempt was recorded', req),
    };
  }
  if (m.t === 'backstage.enter') {
    return {
      events: [...(state.watching !== undefined ? [{ type: 'WatchStopped' } as const] : []), { type: 'BackstageEntered' }],
      effects: [...(state.watching !== undefined ? [{ type: 'stopWatching' } as const] : []), { type: 'audit', eventType: 'backstage_entered', details: {} }],
      reply: { t: 'backstage.entered' },
    };
  }
  if (m.t === 'backstage.exit') {
    return {
      events: [{ type: 'BackstageExited' }],
      // Leaving backstage ends its shell: screen control never keeps a terminal behind it. The
      // connection goes on as screen control (connect_sessions follows the mode it returns to).
      effects: [
        { type: 'closeTerminal', reason: 'backstage exited' },
        { type: 'audit', eventType: 'backstage_exited', details: { reason: 'user', session_type: 'screen_control' } },
      ],
      reply: { t: 'backstage.exited' },
    };
  }
  if (state.mode !== 'backstage') return { events: [], effects: [], reply: error(state, ErrorCode.CONFLICT, 'enter backstage first', req) };
  if (m.t.startsWith('terminal.')) return { events: [], effects: [{ type: 'terminal', message: m as TerminalMessage }] };
  return { events: [], effects: [{ type: 'backstage', message: m as Exclude<BackstageMessage, { t: 'backstage.enter' | 'backstage.exit' }> }] };
}

function decideClosed(state: ViewerState): Decision {
  const effects: ViewerEffect[] = [];
  if (state.watching !== undefined || state.switching !== undefined) effects.push({ type: 'stopWatching' });
  // A technician who leaves does not leave commands or a shell running on the machine behind them.
  effects.push({ type: 'closeTerminal', reason: 'disconnected' }, { type: 'cancelBackstageRuns' });
  if (state.mode === 'backstage') effects.push({ type: 'audit', eventType: 'backstage_exited', details: { reason: 'disconnected' } });
  if (state.joined) effects.push({ type: 'viewerLeft', inputDropped: state.input.dropped });
  return { events: state.watching !== undefined ? [{ type: 'WatchStopped' }] : [], effects };
}

/** Folds one event into the state; pure. */
export function evolve(state: ViewerState, e: ViewerEvent): ViewerState {
  switch (e.type) {
    case 'Watched':
      return { ...state, watching: e.sessionId, control: e.control };
    case 'Joined':
      return { ...state, joined: true };
    case 'WatchStopped':
      return { ...state, watching: undefined };
    case 'SwitchRequested':
      return { ...state, switching: e.to };
    case 'SwitchEnded':
      return { ...state, switching: undefined };
    case 'InputForwarded':
    case 'InputDropped': {
      const fresh = e.at - state.input.windowStart >= INPUT_WINDOW_MS;
      const w = fresh ? { windowStart: e.at, count: 0 } : { windowStart: state.input.windowStart, count: state.input.count };
      return { ...state, input: { ...w, count: w.count + 1, dropped: state.input.dropped + (e.type === 'InputDropped' ? 1 : 0) } };
    }
    case 'BrowserFellBehind':
      return { ...state, browserBehind: true };
    case 'PaceWindowClosed':
      return { ...state, browserBehind: false };
    case 'BackstageEntered':
      return { ...state, mode: 'backstage' };
    case 'BackstageExited':
      return { ...state, mode: 'screen' };
  }
}

/** Folds a list of events (what `given` in the tests does). */
export const evolveAll = (state: ViewerState, events: readonly ViewerEvent[]): ViewerState => events.reduce(evolve, state);
