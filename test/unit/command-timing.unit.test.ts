/** The hop stamps of a stored command: the agent's Gc-Timing header and the gateway's Server-Timing value. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverTimingHeader } from '../../services/gateway/bus/command-timing.js';
import { formatAgentTiming, parseAgentTiming, wallClockMs } from '../../proto/timing.js';

describe('Gc-Timing (agent stamps on an answer)', () => {
  it('round-trips the three stamps with microsecond digits', () => {
    const t = { receivedMs: 1_765_000_000_000.1233, startedMs: 1_765_000_000_000.5, answeredMs: 1_765_000_000_001.25 };
    const v = formatAgentTiming(t);
    assert.equal(v, 'r=1765000000000.123;s=1765000000000.500;a=1765000000001.250');
    assert.deepEqual(parseAgentTiming(v), { receivedMs: 1765000000000.123, startedMs: 1765000000000.5, answeredMs: 1765000000001.25 });
  });

  it('refuses anything else: out of order, negative, NaN, huge, extra fields, NUL, lone surrogates, 100k characters', () => {
    for (const bad of [
      undefined,
      '',
      'r=3;s=2;a=4',
      'r=1;s=2;a=1',
      'r=-1;s=2;a=3',
      'r=NaN;s=2;a=3',
      'r=1e5;s=2e5;a=3e5',
      `r=${'9'.repeat(400)};s=${'9'.repeat(400)};a=${'9'.repeat(400)}`,
      'r=1;s=2;a=3;x=4',
      'r=1;s=2;a=3\0',
      'r=1;s=2;a=3\ud800',
      `r=1;s=2;a=${'3'.repeat(100_000)}`,
      ' r=1;s=2;a=3',
    ]) {
      assert.equal(parseAgentTiming(bad), undefined, JSON.stringify(bad?.slice(0, 40)));
    }
  });

  it('reads a wall clock close to Date.now, with sub-millisecond digits', () => {
    const now = wallClockMs();
    assert.ok(Math.abs(now - Date.now()) < 1000, String(now - Date.now()));
  });
});

describe('Server-Timing of a command request', () => {
  it("has one metric per hop the command went through, each a difference of its stamps, and the window's two ends on the wall clock", () => {
    const v = serverTimingHeader(
      {
        requestMs: 100,
        handlerMs: 101.5,
        command: { publishMs: 102, ackMs: 103.25, answer: { heardMs: 110, agent: { receivedMs: 102.5, startedMs: 102.75, answeredMs: 109 } } },
      },
      110.5,
    );
    assert.equal(
      v,
      'auth;dur=1.500, checks;dur=0.500, ack;dur=1.250, deliver;dur=0.500, guard;dur=0.250, handler;dur=6.250, answer;dur=1.000, reply;dur=0.500, ackwait;dur=-6.750, gateway;dur=10.500, start;dur=100.000, end;dur=110.500',
    );
  });

  it('leaves out the hops a refused or unstamped request never made', () => {
    assert.equal(serverTimingHeader({ requestMs: 100, handlerMs: 101, command: {} }, 102), 'auth;dur=1.000, checks;dur=1.000, gateway;dur=2.000, start;dur=100.000, end;dur=102.000');
    assert.equal(
      serverTimingHeader({ requestMs: 100, handlerMs: 101, command: { publishMs: 101.5, ackMs: 102 } }, 104),
      'auth;dur=1.000, checks;dur=0.500, ack;dur=0.500, gateway;dur=4.000, start;dur=100.000, end;dur=104.000',
    );
  });
});
