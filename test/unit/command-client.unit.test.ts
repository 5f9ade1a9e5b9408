/**
 * The command client's branches with fake ports and a fake answer source: answer, progress,
 * duplicates from live and replay, deadline, agent loss, caller abort, a failed append, a
 * programming error; and that every branch detaches what it attached.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Decoded, decode, encode, message } from '../../proto/codec.js';
import { ErrorCode, type GcError } from '../../proto/errors.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { type AnswerSources, answerStream } from '../../services/gateway/bus/command-answers.js';
import type { CommandFailure } from '../../services/gateway/bus/command-failures.js';
import { type CommandPorts, commandClient } from '../../services/gateway/bus/command-client.js';
import type { CommandTiming } from '../../services/gateway/bus/command-timing.js';

const A = 'pc-1' as AgentId;
const ann = { userId: 'u-1', userName: 'ann', role: 'admin' };

/** A decoded answer correlated to `commandId`, with its own event id. */
function answer(commandId: string, id: string, final = true): Decoded {
  const r = decode(encode(message({ backstageOutput: { final, chunk: final ? undefined : { data: id } } }, { id, agentId: A, correlationId: commandId })), subjects.agentEvent(A, 'backstageOutput'));
  assert.ok(r.ok);
  return r.value;
}

/** Fake sources: `deliver` is a live answer, `stored` what a replay would find, `reconnect` a NATS reconnect. */
function fakeSources() {
  const live = new Set<(m: Decoded) => void>();
  const reconnects = new Set<() => void>();
  const stored: Decoded[] = [];
  const replays: number[] = [];
  const sources: AnswerSources = {
    live: (_id, fn) => {
      live.add(fn);
      return () => live.delete(fn);
    },
    onReconnect: (fn) => {
      reconnects.add(fn);
      return () => reconnects.delete(fn);
    },
    replay: async (_id, fromSeq, fn) => {
      replays.push(fromSeq);
      for (const m of stored) fn(m);
    },
  };
  return {
    sources,
    stored,
    replays,
    deliver: (m: Decoded) => {
      for (const fn of live) fn(m);
    },
    reconnect: () => {
      for (const fn of reconnects) fn();
    },
    get listeners() {
      return live.size + reconnects.size;
    },
  };
}

interface Control {
  expire(): void;
  loseAgent(): void;
  appendFails: boolean;
}

/** Ports around the fake sources; `onAppend` plays the agent (answers once the command is appended). */
function fakePorts(onAppend: (commandId: string, f: ReturnType<typeof fakeSources>, ctl: Control) => void = () => {}) {
  const f = fakeSources();
  const failures: CommandFailure[] = [];
  const deadline = new AbortController();
  let lose: ((why: GcError) => void) | undefined;
  let watching = 0;
  const ctl: Control = {
    expire: () => deadline.abort(new DOMException('timed out', 'TimeoutError')),
    loseAgent: () => lose?.({ code: ErrorCode.AGENT_OFFLINE, message: 'silent' }),
    appendFails: false,
  };
  const timedAppends: boolean[] = [];
  const ports: CommandPorts = {
    append: async (_subject, _data, commandId, timed) => {
      timedAppends.push(timed);
      if (ctl.appendFails) throw new Error('no responders');
      queueMicrotask(() => onAppend(commandId, f, ctl));
      return 42;
    },
    publish: () => {},
    answers: (_a, _k, commandId, signal) => answerStream(f.sources, commandId, signal),
    watchAgent: (_a, l) => {
      lose = l;
      watching++;
      return () => {
        watching--;
      };
    },
    deadline: () => deadline.signal,
    recordFailure: async (x) => {
      failures.push(x);
    },
    timingOf: (m) => (m.meta.id === 'timed' ? { heardMs: 5, agent: { receivedMs: 2, startedMs: 3, answeredMs: 4 } } : undefined),
  };
  return {
    client: commandClient(ports),
    f,
    ctl,
    failures,
    timedAppends,
    get watching() {
      return watching;
    },
  };
}

const issue = (t: ReturnType<typeof fakePorts>, extra: Partial<Parameters<ReturnType<typeof commandClient>['issue']>[3]> = {}) =>
  t.client.issue(A, 'backstage', { backstageCommand: {} }, { actor: ann, timeoutMs: 1000, commandId: 'c-1', ...extra });

describe('command client', () => {
  it('resolves with the first answer, and detaches its listeners and the presence watch', async () => {
    const t = fakePorts((cid, f) => f.deliver(answer(cid, 'a-1')));
    const r = await issue(t);
    assert.ok(r.ok);
    assert.equal(r.value.answer.meta.id, 'a-1');
    assert.equal(r.value.commandId, 'c-1');
    assert.equal(t.f.listeners, 0);
    assert.equal(t.watching, 0);
    assert.deepEqual(t.failures, []);
  });

  it('passes progress answers on and ends on the final one; a duplicate (live and replayed) counts once', async () => {
    const t = fakePorts((cid, f) => {
      const chunk = answer(cid, 'p-1', false);
      f.deliver(chunk);
      // The gateway reconnected: the replay finds the chunk it already had, and the final answer.
      f.stored.push(chunk, answer(cid, 'fin'));
      f.reconnect();
    });
    const progress: string[] = [];
    const r = await issue(t, { isFinal: (m) => m.backstageOutput?.final === true, onProgress: (m) => progress.push(m.meta.id) });
    assert.ok(r.ok);
    assert.equal(r.value.answer.meta.id, 'fin');
    assert.deepEqual(progress, ['p-1']);
    assert.deepEqual(t.f.replays, [42], "replayed from the command's own sequence");
  });

  it("a deadline is TIMEOUT, recorded as the command's failure", async () => {
    const t = fakePorts((_cid, _f, ctl) => ctl.expire());
    const r = await issue(t);
    assert.equal(!r.ok && r.error.code, ErrorCode.TIMEOUT);
    assert.deepEqual(
      t.failures.map((x) => [x.commandId, x.code, x.kind]),
      [['c-1', ErrorCode.TIMEOUT, 'backstage']],
    );
    assert.equal(t.f.listeners, 0);
    assert.equal(t.watching, 0);
  });

  it('a lost agent is AGENT_OFFLINE, recorded', async () => {
    const t = fakePorts((_cid, _f, ctl) => ctl.loseAgent());
    const r = await issue(t);
    assert.equal(!r.ok && r.error.code, ErrorCode.AGENT_OFFLINE);
    assert.deepEqual(
      t.failures.map((x) => x.code),
      [ErrorCode.AGENT_OFFLINE],
    );
  });

  it('a caller that gives up gets CANCELLED and nothing is recorded (the agent may still answer)', async () => {
    const caller = new AbortController();
    const t = fakePorts(() => caller.abort());
    const r = await issue(t, { signal: caller.signal });
    assert.equal(!r.ok && r.error.code, ErrorCode.CANCELLED);
    assert.deepEqual(t.failures, []);
    assert.equal(t.f.listeners, 0);
  });

  it('a caller that gave up before the call sends nothing', async () => {
    let appended = false;
    const t = fakePorts(() => {
      appended = true;
    });
    const r = await issue(t, { signal: AbortSignal.abort() });
    assert.equal(!r.ok && r.error.code, ErrorCode.CANCELLED);
    await new Promise((r) => setImmediate(r));
    assert.equal(appended, false);
  });

  it('an append the bus refuses is BUS_UNAVAILABLE, not recorded (nothing was stored), listeners detached', async () => {
    const t = fakePorts();
    t.ctl.appendFails = true;
    const r = await issue(t);
    assert.equal(!r.ok && r.error.code, ErrorCode.BUS_UNAVAILABLE);
    assert.deepEqual(t.failures, []);
    assert.equal(t.f.listeners, 0);
    assert.equal(t.watching, 0);
  });

  it("asked for timing, marks the command (Gc-Timing) and notes publish, ack and the final answer's stamps; else leaves it alone", async () => {
    const t = fakePorts((cid, f) => f.deliver(answer(cid, 'timed')));
    const timing: CommandTiming = {};
    const r = await issue(t, { timing });
    assert.ok(r.ok);
    assert.deepEqual(t.timedAppends, [true]);
    assert.ok(timing.publishMs !== undefined && timing.ackMs !== undefined && timing.publishMs <= timing.ackMs, JSON.stringify(timing));
    assert.deepEqual(timing.answer, { heardMs: 5, agent: { receivedMs: 2, startedMs: 3, answeredMs: 4 } });

    const plain = fakePorts((cid, f) => f.deliver(answer(cid, 'timed')));
    assert.ok((await issue(plain)).ok);
    assert.deepEqual(plain.timedAppends, [false], 'no Gc-Timing unless asked');
  });

  it('a live-only kind is a programming error that throws, not BUS_UNAVAILABLE', async () => {
    const t = fakePorts();
    await assert.rejects(t.client.issue(A, 'input', { input: {} }, { actor: ann, timeoutMs: 1000 }), TypeError);
  });

  it('an onProgress that throws propagates and still detaches everything', async () => {
    const t = fakePorts((cid, f) => f.deliver(answer(cid, 'p', false)));
    await assert.rejects(
      issue(t, {
        isFinal: () => false,
        onProgress: () => {
          throw new Error('bug');
        },
      }),
      /bug/,
    );
    assert.equal(t.f.listeners, 0);
    assert.equal(t.watching, 0);
  });
});

describe('answer stream', () => {
  it('removes its abort listener on close', () => {
    const f = fakeSources();
    const c = new AbortController();
    let added = 0;
    let removed = 0;
    const add = c.signal.addEventListener.bind(c.signal);
    const remove = c.signal.removeEventListener.bind(c.signal);
    c.signal.addEventListener = ((...a: Parameters<typeof add>) => {
      added++;
      add(...a);
    }) as typeof add;
    c.signal.removeEventListener = ((...a: Parameters<typeof remove>) => {
      removed++;
      remove(...a);
    }) as typeof remove;
    const s = answerStream(f.sources, 'c', c.signal);
    s.close();
    assert.equal(added, 1);
    assert.equal(removed, 1);
    assert.equal(f.listeners, 0);
  });

  it("a reconnect before the command's sequence is known replays once it is", () => {
    const f = fakeSources();
    const s = answerStream(f.sources, 'c', new AbortController().signal);
    f.reconnect();
    assert.deepEqual(f.replays, []);
    s.replayFrom(7);
    assert.deepEqual(f.replays, [7]);
    s.close();
  });

  it('stops, flagged, instead of buffering without bound', async () => {
    const f = fakeSources();
    const s = answerStream(f.sources, 'c', new AbortController().signal, 3);
    for (let i = 0; i < 5; i++) f.deliver(answer('c', `m${i}`, false));
    const got: string[] = [];
    for await (const m of s) got.push(m.meta.id);
    assert.deepEqual(got, ['m0', 'm1', 'm2']);
    assert.equal(s.overflowed, true);
    assert.equal(f.listeners, 0);
  });
});
