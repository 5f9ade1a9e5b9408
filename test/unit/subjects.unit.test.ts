import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentId } from '../../proto/ids.js';
import { parseAgentId } from '../../proto/ids.js';
import { Streams, integrationSubjects, parseSubject, subjects } from '../../proto/subjects.js';

const a = 'agent-1' as AgentId;

describe('subjects', () => {
  it('builds the documented subjects', () => {
    assert.equal(subjects.agentEvent(a, 'sessions'), 'gc.agent.agent-1.sessions');
    assert.equal(subjects.agentEvent(a, 'backstageOutput'), 'gc.agent.agent-1.backstage.output');
    assert.equal(subjects.frame(a, 3), 'gc.frame.agent-1.3');
    assert.equal(subjects.command(a, 'switchSession'), 'gc.cmd.agent-1.switch-session');
    assert.equal(subjects.audit('access_denied'), 'gc.audit.access_denied');
  });

  it('round-trips through parseSubject', () => {
    const r = parseSubject('gc.agent.agent-1.backstage.output');
    assert.deepEqual(r, { ok: true, value: { family: 'agent', agentId: 'agent-1', kind: 'backstageOutput' } });
    assert.deepEqual(parseSubject('gc.frame.agent-1.42'), { ok: true, value: { family: 'frame', agentId: 'agent-1', sessionId: 42 } });
  });

  for (const bad of ['', 'a.b', 'a*', 'a>', 'a b', 'tab\there', 'x'.repeat(65), 'ünï']) {
    it(`rejects agent id ${JSON.stringify(bad)}`, () => {
      const r = parseAgentId(bad);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, 'INVALID_ID');
      assert.throws(() => subjects.agentEvent(bad as AgentId, 'status'), /agent id/);
    });
  }

  it('accepts a 64-character id', () => {
    assert.equal(parseAgentId('x'.repeat(64)).ok, true);
  });

  it('rejects unknown subjects with a reason', () => {
    for (const s of ['gc.agent.a.nope', 'gc.cmd.a.rm-rf', 'gc.frame.a.b', 'other.x.y', 'gc.audit.a.b']) {
      const r = parseSubject(s);
      assert.equal(r.ok, false, s);
    }
  });

  it('keeps frames and live-only commands out of the event stream', () => {
    const stored = Streams.events.subjects as readonly string[];
    assert.ok(stored.includes('gc.cmd.*.switch-session'));
    assert.ok(!stored.some((s) => s.startsWith('gc.frame')));
    assert.ok(!stored.includes('gc.cmd.*.input'));
  });

  it('integration scopes: hostile agent ids and event names are answers, never throws', () => {
    for (const bad of ['a\u0000', 'x\ud800', 'a.b', '*', '>', 'a'.repeat(100_000), '']) {
      const r = integrationSubjects([bad], ['sessions']);
      assert.ok(!r.ok && r.error.code === 'INVALID_ID', JSON.stringify(bad.slice(0, 8)));
    }
    const unknown = integrationSubjects('*', ['sessions', 'terminal']);
    assert.ok(!unknown.ok && unknown.error.code === 'VALIDATION_FAILED', 'live-only terminal output is not an integration event');
    const ok = integrationSubjects(['pc-1', 'pc-2'], ['sessions', 'status']);
    assert.deepEqual(ok.ok && ok.value, ['gc.agent.pc-1.sessions', 'gc.agent.pc-2.sessions', 'gc.agent.pc-1.status', 'gc.agent.pc-2.status']);
  });
});
