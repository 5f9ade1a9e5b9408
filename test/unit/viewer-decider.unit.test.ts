/**
 * The viewer connection's state machine, given / when / then, without servers: given past events,
 * when a message arrives (with the facts the gateway read), then these events, effects and reply.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, err, ok } from '../../proto/errors.js';
import { MAX_INPUT_PER_SEC } from '../../services/gateway/ws/protocol.js';
import { type Decision, type ViewerEvent, type ViewerFacts, type ViewerMessage, type ViewerState, decide, evolveAll, initialViewerState } from '../../services/gateway/ws/viewer-decider.js';

const T0 = 1_000_000;
const online: ViewerFacts = {
  now: T0,
  machine: { online: true, currentSessionId: 2 },
  sessions: [
    { id: 1, capturable: true, user: 'ann', type: 'console' },
    { id: 2, capturable: true, user: 'bob', type: 'rdp' },
    { id: 3, capturable: false, user: 'carl', type: 'disconnected' },
  ],
};

/** given(role, ...events).when(message, facts).expect(...) */
function given(role: string, ...events: ViewerEvent[]) {
  const state = evolveAll(initialViewerState('v-1', role, T0), events);
  return {
    state,
    when(m: ViewerMessage, facts: ViewerFacts = { now: T0 }) {
      const d = decide(state, m, facts);
      const next = evolveAll(state, d.events);
      return { d, next, expect: (expected: Partial<Decision>) => assert.deepEqual(pick(d, expected), expected) };
    },
  };
}
const pick = (d: Decision, like: Partial<Decision>) => Object.fromEntries(Object.keys(like).map((k) => [k, d[k as keyof Decision]]));
const watching = (sessionId: number, control = true): ViewerEvent[] => [{ type: 'Watched', sessionId, control }, { type: 'Joined' }];
const errorCode = (d: Decision) => (d.reply?.t === 'error' ? d.reply.error_code : undefined);

describe('watch', () => {
  it("an operator watches the machine's current session with control, joins once and the join is audited", () => {
    const { d, next } = given('operator').when({ t: 'watch' }, online);
    assert.deepEqual(d.events, [{ type: 'Watched', sessionId: 2, control: true }, { type: 'Joined' }]);
    assert.deepEqual(d.effects, [
      { type: 'watch', sessionId: 2, control: true, fromSwitch: false },
      { type: 'audit', eventType: 'viewer_joined', details: { session_type: 'screen_control' }, windowsSessionId: 2 },
    ]);
    assert.deepEqual(d.reply, { t: 'watching', session_id: 2, control: true });
    assert.equal(next.watching, 2);
    // A second watch moves the view but is not a second join.
    const again = decide(next, { t: 'watch', session_id: 1 }, online);
    assert.deepEqual(again.events, [{ type: 'Watched', sessionId: 1, control: true }]);
    assert.equal(
      again.effects.some((e) => e.type === 'audit'),
      false,
    );
  });

  it('a viewer-role technician, or view_only, watches without control', () => {
    assert.equal(given('viewer').when({ t: 'watch' }, online).d.reply?.control, false);
    assert.equal(given('admin').when({ t: 'watch', view_only: true }, online).d.reply?.control, false);
  });

  it('an auditor may not watch (the policy table: machines.read)', () => {
    const { d } = given('auditor').when({ t: 'watch' }, online);
    assert.equal(errorCode(d), ErrorCode.FORBIDDEN);
    assert.deepEqual(d.effects, []);
  });

  it('refuses an offline machine, an unknown session and one without a desktop, each with its own code', () => {
    assert.equal(errorCode(given('admin').when({ t: 'watch' }, { ...online, machine: { online: false, currentSessionId: 2 } }).d), ErrorCode.AGENT_OFFLINE);
    assert.equal(errorCode(given('admin').when({ t: 'watch' }, { now: T0 }).d), ErrorCode.AGENT_OFFLINE);
    assert.equal(errorCode(given('admin').when({ t: 'watch', session_id: 0xffffffff }, online).d), ErrorCode.SESSION_NOT_FOUND);
    assert.equal(errorCode(given('admin').when({ t: 'watch', session_id: 3 }, online).d), ErrorCode.SESSION_NOT_CAPTURABLE);
    assert.equal(errorCode(given('admin').when({ t: 'watch' }, { ...online, sessions: [{ id: 3, capturable: false }] }).d), ErrorCode.SESSION_NOT_FOUND);
  });

  it('falls back to the first capturable session when the current one has no desktop', () => {
    const { d } = given('admin').when({ t: 'watch' }, { ...online, machine: { online: true, currentSessionId: 3 } });
    assert.equal(d.reply?.session_id, 1);
  });
});

describe('switch', () => {
  it("an operator's switch becomes the switch effect and marks the viewer as switching", () => {
    const { d, next } = given('operator', ...watching(1)).when({ t: 'switch', session_id: 2, req: 'r1' });
    assert.deepEqual(d.effects, [{ type: 'switch', to: 2, from: 1, req: 'r1' }]);
    assert.equal(d.reply, undefined);
    assert.equal(next.switching, 2);
  });

  it('a viewer-role switch goes to the switch use case (which refuses and audits it), and nothing pends', () => {
    const { d, next } = given('viewer', ...watching(1, false)).when({ t: 'switch', session_id: 1, req: 'r1' });
    // Not a noop even to the watched session: the refusal and its audit row are the use case's.
    assert.deepEqual(d.effects, [{ type: 'switch', to: 1, from: 1, req: 'r1' }]);
    assert.equal(next.switching, undefined);
    const done = decide(next, { t: 'switch.done', to: 1, req: 'r1', socketOpen: true, result: err(ErrorCode.FORBIDDEN, 'no') }, { now: T0 });
    assert.equal(errorCode(done), ErrorCode.FORBIDDEN);
    assert.equal(done.reply?.req, 'r1');
  });

  it('switching to the watched session is a noop answered at once', () => {
    given('admin', ...watching(2))
      .when({ t: 'switch', session_id: 2, req: 'r' })
      .expect({
        events: [],
        effects: [],
        reply: { t: 'switched', ok: true, from: 2, to: 2, noop: true, req: 'r' },
      });
  });

  it('a second switch while one is under way is a CONFLICT, not a second pending switch', () => {
    const { d } = given('admin', ...watching(1), { type: 'SwitchRequested', to: 2 }).when({ t: 'switch', session_id: 3, req: 'r2' });
    assert.equal(errorCode(d), ErrorCode.CONFLICT);
    assert.deepEqual(d.effects, []);
  });

  it('a successful switch watches the target with the frames subscribed for it, answers, then releases them', () => {
    const { d, next } = given('admin', ...watching(1), { type: 'SwitchRequested', to: 2 }).when({
      t: 'switch.done',
      to: 2,
      req: 'r',
      socketOpen: true,
      result: ok({ commandId: 'c-1', fromSessionId: 1, toSessionId: 2, durationMs: 40 }),
    });
    assert.deepEqual(d.effects, [{ type: 'watch', sessionId: 2, control: true, fromSwitch: true }]);
    assert.deepEqual(d.reply, { t: 'switched', ok: true, from: 1, to: 2, duration_ms: 40, command_id: 'c-1', clipboard_cleared: true, req: 'r' });
    assert.deepEqual(d.afterReply, [{ type: 'releaseSwitchFrames' }]);
    assert.equal(next.watching, 2);
    assert.equal(next.switching, undefined);
  });

  it('a switch timed by the gateway (GC_SERVER_TIMING) carries its hops in the reply; untimed ones do not (above)', () => {
    const { d } = given('admin', ...watching(1), { type: 'SwitchRequested', to: 2 }).when({
      t: 'switch.done',
      to: 2,
      req: 'r',
      socketOpen: true,
      result: ok({ commandId: 'c-1', fromSessionId: 1, toSessionId: 2, durationMs: 40 }),
      serverTiming: 'auth;dur=0.100, deliver;dur=0.500',
    });
    assert.equal(d.reply?.server_timing, 'auth;dur=0.100, deliver;dur=0.500');
  });

  it('a failed switch drops the frames subscribed for it, keeps watching the old session and says why', () => {
    const { d, next } = given('admin', ...watching(1), { type: 'SwitchRequested', to: 3 }).when({
      t: 'switch.done',
      to: 3,
      req: 'r',
      socketOpen: true,
      result: err(ErrorCode.SESSION_NOT_CAPTURABLE, 'no desktop'),
    });
    assert.deepEqual(d.effects, [{ type: 'dropSwitchFrames' }]);
    assert.equal(errorCode(d), ErrorCode.SESSION_NOT_CAPTURABLE);
    assert.equal(next.watching, 1);
    assert.equal(next.switching, undefined);
  });

  it('a switch that ends after the socket closed only drops its frames', () => {
    given('admin', ...watching(1), { type: 'SwitchRequested', to: 2 })
      .when({ t: 'switch.done', to: 2, req: undefined, socketOpen: false, result: ok({ commandId: 'c', fromSessionId: 1, toSessionId: 2, durationMs: 1 }) })
      .expect({ events: [{ type: 'SwitchEnded' }], effects: [{ type: 'dropSwitchFrames' }], reply: undefined });
  });

  it('a refused stream start is reported, unless a switch is under way (its own answer reports it)', () => {
    const refused: ViewerMessage = { t: 'stream.refused', sessionId: 2, code: ErrorCode.PLATFORM_ERROR, message: 'x' };
    assert.equal(errorCode(given('admin', ...watching(1)).when(refused).d), ErrorCode.PLATFORM_ERROR);
    assert.equal(given('admin', ...watching(1), { type: 'SwitchRequested', to: 2 }).when(refused).d.reply, undefined);
  });
});

describe('input', () => {
  const key = (session_id: number): ViewerMessage => ({ t: 'input', session_id, key: { key_code: 65, down: true } });

  it('is forwarded only with control and only for the watched session', () => {
    assert.equal(given('admin', ...watching(1)).when(key(1)).d.effects[0]?.type, 'input');
    assert.deepEqual(given('admin', ...watching(1)).when(key(2)).d.effects, []);
    assert.deepEqual(given('viewer', ...watching(1, false)).when(key(1)).d.effects, []);
    assert.deepEqual(given('admin').when(key(0)).d.effects, []);
  });

  it(`drops input beyond ${MAX_INPUT_PER_SEC} a second, counts the drops, and opens a new window after a second`, () => {
    let s: ViewerState = evolveAll(initialViewerState('v', 'admin', T0), watching(1));
    let forwarded = 0;
    for (let i = 0; i < MAX_INPUT_PER_SEC + 7; i++) {
      const d = decide(s, key(1), { now: T0 + 10 });
      forwarded += d.effects.length;
      s = evolveAll(s, d.events);
    }
    assert.equal(forwarded, MAX_INPUT_PER_SEC);
    assert.equal(s.input.dropped, 7);
    const later = decide(s, key(1), { now: T0 + 1010 });
    assert.equal(later.effects.length, 1);
    assert.equal(evolveAll(s, later.events).input.count, 1);
  });
});

describe('backstage and terminal', () => {
  it('non-admins are refused on every backstage and terminal message, and each refusal is audited', () => {
    for (const role of ['operator', 'viewer', 'auditor', '']) {
      for (const m of [{ t: 'backstage.enter' }, { t: 'backstage.exec', id: 'x', command: 'whoami' }, { t: 'terminal.open', cols: 80, rows: 24 }] as ViewerMessage[]) {
        const { d, next } = given(role, ...watching(1)).when(m);
        assert.equal(errorCode(d), ErrorCode.FORBIDDEN, `${role} ${m.t}`);
        assert.deepEqual(
          d.effects.map((e) => e.type),
          ['audit'],
        );
        assert.equal(d.effects[0]?.type === 'audit' && d.effects[0].eventType, 'access_denied');
        assert.equal(d.effects[0]?.type === 'audit' && d.effects[0].details.action, m.t);
        // A refused backstage.enter does not stop the view.
        assert.equal(next.watching, 1);
        assert.equal(next.mode, 'screen');
      }
    }
  });

  it('entering stops the view; operations and the terminal need backstage mode; exiting closes the terminal', () => {
    const enter = given('admin', ...watching(1)).when({ t: 'backstage.enter' });
    assert.deepEqual(
      enter.d.effects.map((e) => e.type),
      ['stopWatching', 'audit'],
    );
    assert.equal(enter.next.mode, 'backstage');
    assert.equal(enter.next.watching, undefined);

    const early = given('admin').when({ t: 'terminal.open', cols: 80, rows: 24 });
    assert.equal(errorCode(early.d), ErrorCode.CONFLICT);
    assert.equal(early.d.reply?.req, 'terminal');
    assert.equal(errorCode(given('admin').when({ t: 'backstage.system', req: 's' }).d), ErrorCode.CONFLICT);

    const inside = given('admin', { type: 'BackstageEntered' });
    assert.deepEqual(inside.when({ t: 'terminal.open', cols: 80, rows: 24 }).d.effects, [{ type: 'terminal', message: { t: 'terminal.open', cols: 80, rows: 24 } }]);
    assert.deepEqual(inside.when({ t: 'backstage.kill', pid: 42 }).d.effects, [{ type: 'backstage', message: { t: 'backstage.kill', pid: 42 } }]);
    const exit = inside.when({ t: 'backstage.exit' });
    assert.deepEqual(exit.d.effects[0], { type: 'closeTerminal', reason: 'backstage exited' });
    assert.equal(exit.next.mode, 'screen');
  });
});

describe('pace, keyframes and close', () => {
  it('a browser that fell behind slows the stream at the next pace window, once', () => {
    const behind = given('admin', ...watching(1)).when({ t: 'keyframe', behind: true });
    assert.deepEqual(behind.d.effects, [{ type: 'keyframe', sessionId: 1 }]);
    const relay = { behind: false, offered: { frames: 30, bytes: 300_000 }, deliveredPerSec: 250_000, windowMs: 1000 };
    const w = decide(behind.next, { t: 'pace.window', relay }, { now: T0 });
    assert.deepEqual(w.effects, [{ type: 'pace', window: { ...relay, behind: true } }]);
    const w2 = decide(evolveAll(behind.next, w.events), { t: 'pace.window', relay }, { now: T0 });
    assert.deepEqual(w2.effects, [{ type: 'pace', window: relay }], 'what the relay saw passes through untouched');
    const w3 = decide(evolveAll(behind.next, w.events), { t: 'pace.window', relay: { ...relay, behind: true } }, { now: T0 });
    assert.deepEqual(w3.effects, [{ type: 'pace', window: { ...relay, behind: true } }], 'the relay dropping frames is behind too');
    assert.deepEqual(given('admin').when({ t: 'pace.window', relay }).d, { events: [], effects: [] }, 'not watching: no pace');
    assert.deepEqual(given('admin').when({ t: 'keyframe', behind: true }).d, { events: [], effects: [] });
  });

  it('closing stops the stream, ends the terminal and backstage runs, and records leaving', () => {
    const { d } = given('admin', ...watching(1), { type: 'BackstageEntered' }, { type: 'InputDropped', at: T0 }).when({ t: 'closed' });
    assert.deepEqual(d.effects, [
      { type: 'stopWatching' },
      { type: 'closeTerminal', reason: 'disconnected' },
      { type: 'cancelBackstageRuns' },
      { type: 'audit', eventType: 'backstage_exited', details: { reason: 'disconnected' } },
      { type: 'viewerLeft', inputDropped: 1 },
    ]);
    // One who never joined leaves no viewer_left row and has no stream to stop.
    assert.deepEqual(
      given('viewer')
        .when({ t: 'closed' })
        .d.effects.map((e) => e.type),
      ['closeTerminal', 'cancelBackstageRuns'],
    );
  });
});
