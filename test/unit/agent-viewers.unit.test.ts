/** The agent's viewer bookkeeping: one capture per watched session, switches move one viewer only. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ok } from '../../proto/errors.js';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import type { PlatformPort, SessionDesktop, SessionInfo } from '../../agent/platform/port.js';
import { type Capture, createViewerManager } from '../../agent/runtime/viewers.js';
import { logLines, silentLog } from '../support/log-lines.js';

const sessions: SessionInfo[] = [
  { sessionId: 1, userName: 'alice', capturable: true },
  { sessionId: 2, userName: 'bob', capturable: true },
  { sessionId: 3, userName: 'carol', capturable: true },
  { sessionId: 70000, userName: 'dave', capturable: false },
];

/** A platform whose desktops only record what happens to them (logic test; no OS involved). */
function fakePlatform(log: string[]): PlatformPort {
  const desktop = (sessionId: number): SessionDesktop => ({
    sessionId,
    grab: async () => ok({ width: 1, height: 1, stride: 4, data: new Uint8Array(4) }),
    mouse: () => {
      log.push(`mouse ${sessionId}`);
      return ok(undefined);
    },
    key: () => ok(undefined),
    clearClipboard: () => ok(undefined),
    close: () => log.push(`close ${sessionId}`),
  });
  return {
    name: 'linux',
    openDesktop: async (id: number) => {
      log.push(`open ${id}`);
      return ok(desktop(id));
    },
  } as unknown as PlatformPort;
}

function setup(maxCaptures = 2, logger = silentLog()) {
  const log: string[] = [];
  const captures = new Map<number, number>();
  const vm = createViewerManager({
    platform: fakePlatform(log),
    sessions: () => sessions,
    maxCaptures,
    leaseMs: 60_000,
    elevated: true,
    maxFps: 30,
    quality: 70,
    log: logger,
    startCapture: (d): Capture => {
      captures.set(d.sessionId, (captures.get(d.sessionId) ?? 0) + 1);
      log.push(`capture ${d.sessionId}`);
      return {
        requestKeyframe: () => log.push(`keyframe ${d.sessionId}`),
        setFps: (n) => log.push(`fps ${d.sessionId} ${n}`),
        setQuality: (q) => log.push(`quality ${d.sessionId} ${q}`),
        stop: async () => {
          log.push(`stop ${d.sessionId}`);
        },
      };
    },
  });
  return { vm, log, captures };
}

describe('agent viewers', () => {
  it('shares one capture between viewers of the same session', async () => {
    const { vm, captures } = setup();
    assert.ok((await vm.start('v1', 1, true)).ok);
    assert.ok((await vm.start('v2', 1, true)).ok);
    assert.equal(captures.get(1), 1);
    assert.deepEqual(vm.watchedSessions(), [1]);
    await vm.close();
  });

  it("logs each viewer stream's start, switch and stop under its viewer id as the correlation id, hostile ids included", async () => {
    const { log, lines } = logLines();
    const { vm } = setup(2, log);
    const ids = ['v1', 'x\ud800', 'nul\0id', 'y'.repeat(100_000)];
    for (const id of ids) {
      await vm.start(id, 1, true);
      await vm.switch(id, 2);
      await vm.stop(id);
    }
    await vm.start('v9', 1, true);
    await vm.start('v9', 1, true); // a renewal: no line
    await vm.close();
    for (const id of ids) {
      assert.deepEqual(
        lines.filter((l) => l.correlation_id === id).map((l) => [l.msg, l.session_id]),
        [
          ['viewer stream started on session 1', 1],
          ['viewer switched to session 2', 2],
          ['viewer stream stopped', 2],
        ],
        id.slice(0, 20),
      );
    }
    assert.deepEqual(
      lines.filter((l) => l.correlation_id === 'v9').map((l) => l.msg),
      ['viewer stream started on session 1'],
      'one line per stream start, none per renewal',
    );
  });

  it('moves only the switching viewer; the other keeps its session', async () => {
    const { vm } = setup();
    await vm.start('v1', 1, true);
    await vm.start('v2', 2, true);
    const r = await vm.switch('v1', 2);
    assert.ok(r.ok);
    if (r.ok) assert.deepEqual({ from: r.value.from, to: r.value.to, noop: r.value.noop }, { from: 1, to: 2, noop: false });
    assert.equal(vm.viewerSession('v1'), 2);
    assert.equal(vm.viewerSession('v2'), 2);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(vm.watchedSessions(), [2], 'nobody watches session 1 any more: its capture stopped');
    await vm.close();
  });

  it('treats a switch to the session already shown as a no-op', async () => {
    const { vm, captures } = setup();
    await vm.start('v1', 1, true);
    const r = await vm.switch('v1', 1);
    assert.ok(r.ok && r.value.noop);
    assert.equal(captures.get(1), 1);
    await vm.close();
  });

  it('refuses unknown and desktop-less sessions with their codes', async () => {
    const { vm } = setup();
    const unknown = await vm.switch('v1', 99);
    assert.equal(unknown.ok ? '' : unknown.error.code, 'SESSION_NOT_FOUND');
    const text = await vm.switch('v1', 70000);
    assert.equal(text.ok ? '' : text.error.code, 'SESSION_NOT_CAPTURABLE');
    await vm.close();
  });

  it('bounds concurrent captures with CAPACITY_EXCEEDED', async () => {
    const { vm } = setup(2);
    await vm.start('v1', 1, true);
    await vm.start('v2', 2, true);
    const r = await vm.start('v3', 3, true);
    assert.equal(r.ok ? '' : r.error.code, 'CAPACITY_EXCEEDED');
    assert.ok((await vm.start('v3', 2, true)).ok, 'a session already captured is still open to more viewers');
    await vm.close();
  });

  it('routes input only to the session a controlling viewer watches', async () => {
    const { vm } = setup();
    await vm.start('ctl', 1, true);
    await vm.start('view', 2, false);
    assert.ok(vm.inputTarget('ctl', 1).ok);
    assert.equal(vm.inputTarget('ctl', 2).ok, false, 'not the session it watches');
    assert.equal(vm.inputTarget('view', 2).ok, false, 'view-only');
    assert.equal(vm.inputTarget('nobody', 1).ok, false);
    await vm.close();
  });
  it('keeps a left desktop open briefly but stops grabbing it; switching back reuses the desktop', async () => {
    const { vm, log, captures } = setup(2);
    await vm.start('v1', 1, true);
    await vm.switch('v1', 2);
    assert.ok(log.includes('stop 1'), 'an unwatched session is not grabbed while it lingers');
    assert.ok(!log.includes('close 1'), 'its desktop stays open');
    await vm.switch('v1', 1);
    assert.equal(log.filter((l) => l === 'open 1').length, 1, 'session 1 desktop was not reopened');
    assert.equal(captures.get(1), 2, 'a fresh capture loop (starting with a keyframe) runs on the kept desktop');
    assert.deepEqual(vm.watchedSessions(), [1]);
    await vm.close();
    assert.ok(log.includes('close 1') && log.includes('close 2'), 'close releases every desktop');
  });

  it('lets a lingering capture give way when capacity is needed', async () => {
    const { vm, log } = setup(2);
    await vm.start('v1', 1, true);
    await vm.switch('v1', 2);
    const r = await vm.switch('v1', 3);
    assert.ok(r.ok, 'session 3 opens by stopping the lingering capture of session 1');
    assert.ok(log.includes('stop 1'));
    await vm.close();
  });

  it("runs a shared capture at the fastest viewer's rate and the lowest quality asked for, within the agent's ceiling", async () => {
    const { vm, log } = setup(2);
    const paceOf = (sessionId: number) => {
      const fps = log.filter((l) => l.startsWith(`fps ${sessionId} `)).at(-1);
      const quality = log.filter((l) => l.startsWith(`quality ${sessionId} `)).at(-1);
      return [fps?.split(' ')[2], quality?.split(' ')[2]].map(Number);
    };
    await vm.start('fast', 1, true);
    assert.deepEqual(paceOf(1), [30, 70], 'a viewer asking nothing gets the agent defaults');
    await vm.start('slow', 1, true, { fps: 10, quality: 40 });
    assert.deepEqual(paceOf(1), [30, 40]);
    await vm.start('fast', 1, true, { fps: 120, quality: 90 });
    assert.deepEqual(paceOf(1), [30, 40], 'fps capped at the agent maximum; quality is the lowest asked');
    await vm.stop('slow');
    assert.deepEqual(paceOf(1), [30, 70], 'quality capped at the agent setting (70), as fps is');
    await vm.start('slow', 1, true, { fps: 10, quality: 40 });
    const before = log.length;
    await vm.start('slow', 1, true, { fps: 10, quality: 40 });
    assert.equal(log.slice(before).filter((l) => /^(fps|quality) /.test(l)).length, 0, 'a renewal that changes nothing tells the capture nothing');
    await vm.stop('fast');
    assert.deepEqual(paceOf(1), [10, 40], 'the slow viewer alone sets the pace');
    await vm.switch('slow', 2);
    assert.deepEqual(paceOf(2), [10, 40], 'a viewer keeps its pace across a switch');
    await vm.close();
  });

  it('tells a Windows agent that is not SYSTEM why it cannot show another user session', async () => {
    const windows = { ...fakePlatform([]), name: 'windows' } as PlatformPort;
    const list: SessionInfo[] = [
      { sessionId: 1, userName: 'me', capturable: true },
      { sessionId: 2, userName: 'bob', capturable: false, state: guruconnect.SessionState.SESSION_ACTIVE },
      { sessionId: 3, userName: 'carol', capturable: false, state: guruconnect.SessionState.SESSION_DISCONNECTED },
    ];
    const vm = createViewerManager({
      platform: windows,
      sessions: () => list,
      startCapture: () => ({ requestKeyframe() {}, setFps() {}, setQuality() {}, stop: async () => {} }),
      maxCaptures: 2,
      leaseMs: 60_000,
      elevated: false,
      maxFps: 30,
      quality: 70,
      log: silentLog(),
    });
    assert.ok((await vm.start('v', 1, true)).ok, 'its own session works without elevation');
    const bob = await vm.switch('v', 2);
    assert.equal(!bob.ok && bob.error.code, 'AGENT_NOT_ELEVATED');
    const carol = await vm.switch('v', 3);
    assert.equal(!carol.ok && carol.error.code, 'SESSION_NOT_CAPTURABLE', 'a disconnected session has no desktop, elevated or not');
    await vm.close();
  });
});
