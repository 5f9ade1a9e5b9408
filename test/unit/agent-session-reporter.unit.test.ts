/**
 * The agent's session reporter (agent/runtime/session-reporter.ts): refreshes stay in order, a storm
 * of change notifications behind a slow listing coalesces instead of queueing one read each, and a
 * listing that throws does not end reporting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlatformPort, SessionInfo } from '../../agent/platform/port.js';
import type { Publisher } from '../../agent/runtime/publisher.js';
import { startSessionReporter } from '../../agent/runtime/session-reporter.js';
import { ok } from '../../proto/errors.js';
import { silentLog } from '../support/log-lines.js';

/** A platform whose listing the test releases by hand (logic test; no OS involved). */
function heldPlatform() {
  let notify: (() => void) | undefined;
  const held: (() => void)[] = [];
  let calls = 0;
  let sessions: SessionInfo[] = [{ sessionId: 1, userName: 'alice', capturable: true }];
  let throwNext = false;
  const platform = {
    name: 'linux',
    listSessions: () => {
      calls++;
      if (throwNext) {
        throwNext = false;
        return Promise.reject(new Error('X server went away'));
      }
      return new Promise((resolve) => held.push(() => resolve(ok(sessions))));
    },
    watchSessions: (cb: () => void) => {
      notify = cb;
      return () => {
        notify = undefined;
      };
    },
  } as unknown as PlatformPort;
  return {
    platform,
    notify: () => notify?.(),
    releaseAll: () => {
      for (const r of held.splice(0)) r();
    },
    held: () => held.length,
    calls: () => calls,
    setSessions: (s: SessionInfo[]) => {
      sessions = s;
    },
    throwNext: () => {
      throwNext = true;
    },
  };
}

function recordingPublisher(sent: SessionInfo[][]): Publisher {
  return {
    event: async (_kind: string, body: { sessionList: { sessions: SessionInfo[] } }) => {
      sent.push(body.sessionList.sessions);
    },
  } as unknown as Publisher;
}

const tick = () => new Promise((r) => setImmediate(r));
async function drain(p: ReturnType<typeof heldPlatform>) {
  for (let i = 0; i < 20; i++) {
    p.releaseAll();
    await tick();
  }
}

/** A reporter over a held platform, past its first (released) listing. */
async function started() {
  const p = heldPlatform();
  const sent: SessionInfo[][] = [];
  const starting = startSessionReporter({ platform: p.platform, publisher: recordingPublisher(sent), pollMs: 3_600_000, currentSessionId: () => 1, log: silentLog() });
  await tick();
  p.releaseAll();
  return { p, sent, reporter: await starting };
}

describe('agent session reporter', () => {
  it('coalesces a storm of notifications behind a slow listing into one more read', async () => {
    const { p, sent, reporter } = await started();
    assert.equal(p.calls(), 1);
    assert.equal(sent.length, 1, 'the first list is published at start');

    p.notify(); // this read starts and hangs
    await tick();
    for (let i = 0; i < 1_000; i++) p.notify();
    p.setSessions([
      { sessionId: 1, userName: 'alice', capturable: true },
      { sessionId: 2, userName: 'bob', capturable: true },
    ]);
    await drain(p);
    assert.equal(p.calls(), 3, 'the hanging read, then one read for the whole storm');
    assert.deepEqual(
      sent.at(-1)?.map((s) => s.sessionId),
      [1, 2],
      'the change that came during the storm is published',
    );
    reporter.stop();
  });

  it('keeps reporting after a listing throws', async () => {
    const { p, sent, reporter } = await started();
    p.throwNext();
    p.notify();
    await drain(p);
    p.setSessions([{ sessionId: 3, userName: 'carol', capturable: true }]);
    p.notify();
    await drain(p);
    assert.deepEqual(
      sent.at(-1)?.map((s) => s.sessionId),
      [3],
    );
    const forced = reporter.publishNow('c-1');
    await drain(p);
    await forced;
    assert.equal(sent.length, 3, 'start, the change after the throw, and the forced one');
    reporter.stop();
  });
});
