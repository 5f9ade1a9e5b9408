/** Property-based fuzzing of the subject scheme and id rules: never throw where Results are promised, round-trip. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type AgentId, checkSubjectToken, parseAgentId } from '../../proto/ids.js';
import { AgentCommand, AgentEvent, type AgentCommandKind, type AgentEventKind, SubjectError, parseSubject, subjects } from '../../proto/subjects.js';

const validId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const hostile = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('a.b', 'a*', '>', 'a >', 'ä', '', ' ', 'a\nb', 'x'.repeat(65), '*', 'a.>', '\u0000'));

describe('fuzz: proto/ids', () => {
  it('checkSubjectToken and parseAgentId never throw and accept exactly the safe alphabet', () => {
    fc.assert(
      fc.property(fc.oneof(validId, hostile), (raw) => {
        const r = checkSubjectToken(raw);
        const expected = /^[A-Za-z0-9_-]{1,64}$/.test(raw);
        assert.equal(r.ok, expected, raw);
        assert.equal(parseAgentId(raw).ok, expected);
        if (!r.ok) assert.equal(r.error.code, 'INVALID_ID');
      }),
      { numRuns: 5000 },
    );
  });
});

describe('fuzz: proto/subjects', () => {
  it('parseSubject never throws on any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.array(fc.oneof(validId, hostile), { maxLength: 6 }).map((p) => ['gc', ...p].join('.')),
        ),
        (s) => {
          assert.equal(typeof parseSubject(s).ok, 'boolean');
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('every built subject parses back to what built it', () => {
    const events = Object.keys(AgentEvent) as AgentEventKind[];
    const commands = Object.keys(AgentCommand) as AgentCommandKind[];
    fc.assert(
      fc.property(validId, fc.constantFrom(...events), fc.constantFrom(...commands), fc.integer({ min: 0, max: 0xffffffff }), (raw, ev, cmd, sid) => {
        const a = raw as AgentId;
        assert.deepEqual(parseSubject(subjects.agentEvent(a, ev)), { ok: true, value: { family: 'agent', agentId: a, kind: ev } });
        assert.deepEqual(parseSubject(subjects.command(a, cmd)), { ok: true, value: { family: 'cmd', agentId: a, kind: cmd } });
        assert.deepEqual(parseSubject(subjects.frame(a, sid)), { ok: true, value: { family: 'frame', agentId: a, sessionId: sid } });
        assert.deepEqual(parseSubject(subjects.audit(raw)), { ok: true, value: { family: 'audit', eventType: raw } });
      }),
      { numRuns: 2000 },
    );
  });

  it('builders refuse ids that would break a subject (programmer error, typed)', () => {
    fc.assert(
      fc.property(
        hostile.filter((h) => !/^[A-Za-z0-9_-]{1,64}$/.test(h)),
        (bad) => {
          assert.throws(() => subjects.agentEvent(bad as AgentId, 'status'), SubjectError);
          assert.throws(() => subjects.commandsFor(bad as AgentId), SubjectError);
          assert.throws(() => subjects.audit(bad), SubjectError);
        },
      ),
      { numRuns: 1000 },
    );
    assert.throws(() => subjects.frame('a' as AgentId, -1), SubjectError);
    assert.throws(() => subjects.frame('a' as AgentId, 1.5), SubjectError);
  });
});
