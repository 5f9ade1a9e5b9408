/** Audit fold and hash chain, given/when/then: commands, results and gateway events -> chained rows. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type MessageInit, encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { GENESIS_HASH, canonicalJson, chain, cleanForJsonb, rowHash } from '../../projections/audit/audit-hash.js';
import { auditProjection } from '../../projections/audit/audit.projection.js';
import { foldAudit } from '../../projections/audit/audit-fold.js';
import { type AuditRow, emptyAuditState } from '../../projections/audit/audit-types.js';
import { decodeEvent } from '../../projections/runtime/decode-event.js';
import type { DecodedEvent } from '../../projections/runtime/types.js';

const A = 'pc-7' as AgentId;
const ann = { userId: 'u-1', userName: 'ann', role: 'admin' };

/** Builds stream events with increasing sequence numbers. */
function stream() {
  let seq = 0;
  const at = (subject: string, payload: Omit<MessageInit, 'meta'>, meta: Record<string, unknown>): DecodedEvent => {
    const d = decodeEvent(subject, ++seq, encode(message(payload, { agentId: A, ...meta })));
    assert.ok(d.ok, d.ok ? '' : d.error.message);
    return d.value;
  };
  return {
    backstage: (id: string, atMs: number, text = 'whoami') =>
      at(
        subjects.command(A, 'backstage'),
        { backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND, commandText: text, shell: pb.Shell.SHELL_POWERSHELL, timeoutSecs: 30 } },
        { id, actor: ann, atMs },
      ),
    output: (cid: string, atMs: number, final = true) =>
      at(
        subjects.agentEvent(A, 'backstageOutput'),
        { backstageOutput: { commandType: pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND, final, commandOutput: { exitCode: 0, durationMs: 25, outputBytes: 12, runAsUser: 'SYSTEM' } } },
        { correlationId: cid, atMs },
      ),
    switchTo: (id: string, to: number, atMs: number) =>
      at(subjects.command(A, 'switchSession'), { switchSession: { fromSessionId: 1, targetSessionId: to, viewerId: 'cs-1' } }, { id, actor: ann, atMs }),
    switched: (cid: string, ok: boolean, atMs: number) =>
      at(
        subjects.agentEvent(A, 'switched'),
        { sessionSwitched: { ok, fromSessionId: 1, toSessionId: 2, viewerId: 'cs-1', durationMs: 40, ...(ok ? {} : { error: { code: 'SESSION_NOT_FOUND', message: 'gone' } }) } },
        { correlationId: cid, atMs },
      ),
    failed: (cid: string, code: string, atMs: number) =>
      at(subjects.audit('command_failed'), { audit: { eventType: 'command_failed', detailsJson: JSON.stringify({ error_code: code }) } }, { correlationId: cid, atMs }),
    audit: (type: string, atMs: number, cs = '') => at(subjects.audit(type), { audit: { eventType: type, connectSessionId: cs, detailsJson: '{"ip":"10.0.0.7"}' } }, { actor: ann, atMs }),
    status: (atMs: number, stopping = false) =>
      at(subjects.agentEvent(A, 'status'), { agentStatus: { hostname: 'pc-7', version: '1.0', ...(stopping ? { state: pb.AgentState.AGENT_STOPPING } : {}) } }, { atMs }),
  };
}

/** When these events are folded in order, then the rows written are (selected columns): */
function when(...events: DecodedEvent[]) {
  const state = emptyAuditState();
  const rows = events.flatMap((e) => foldAudit(state, e) ?? []);
  return {
    state,
    rows,
    thenRows: (cols: (keyof AuditRow)[], expected: unknown[][]) =>
      assert.deepEqual(
        rows.map((r) => cols.map((c) => r[c])),
        expected,
      ),
  };
}

describe('audit fold', () => {
  it('session lists, which the projection skips undecoded, would fold to nothing anyway', () => {
    const e = decodeEvent(subjects.agentEvent(A, 'sessions'), 1, encode(message({ sessionList: { sessions: [{ sessionId: 1, userName: 'x' }] } }, { agentId: A })));
    assert.ok(e.ok);
    assert.equal(foldAudit(emptyAuditState(), e.value), undefined);
    assert.deepEqual([subjects.agentEvent(A, 'sessions'), subjects.agentEvent(A, 'status'), subjects.command(A, 'backstage'), subjects.audit('login')].map(auditProjection.relevant!), [
      false,
      true,
      true,
      true,
    ]);
  });

  it('a command and its final output are one row at the result’s sequence, with both sides', () => {
    const s = stream();
    const r = when(s.backstage('bs-1', 1000), s.output('bs-1', 1200, false), s.output('bs-1', 1500));
    r.thenRows(['id', 'seq', 'event_type', 'user_name', 'agent_id', 'created_at', 'correlation_id'], [['bs-1', 3, 'backstage_command', 'ann', A, new Date(1000), 'bs-1']]);
    assert.deepEqual(r.rows[0]?.details, {
      command_type: 'exec_command',
      command_text: 'whoami',
      shell: 'powershell',
      as_session_id: 0,
      timeout_secs: 30,
      ok: true,
      exit_code: 0,
      truncated: false,
      timed_out: false,
      cancelled: false,
      duration_ms: 25,
      output_bytes: 12,
      run_as_user: 'SYSTEM',
      requested_seq: 1,
      completed_at: new Date(1500).toISOString(),
    });
    assert.equal(r.state.pending.size, 0);
  });

  it('a command without its result yet writes nothing and stays pending', () => {
    const s = stream();
    const r = when(s.switchTo('sw-1', 2, 1000));
    r.thenRows(['id'], []);
    assert.deepEqual([...r.state.pending.keys()], ['sw-1']);
  });

  it('a failed switch is a session_switch_failed row; a gateway timeout closes a command as failed', () => {
    const s = stream();
    when(s.switchTo('sw-1', 2, 1000), s.switched('sw-1', false, 1100), s.backstage('bs-1', 1200), s.failed('bs-1', 'TIMEOUT', 9000)).thenRows(
      ['id', 'event_type', 'seq'],
      [
        ['sw-1', 'session_switch_failed', 2],
        ['bs-1', 'backstage_command', 4],
      ],
    );
  });

  it('a result after the gateway gave up becomes its own late row; the closed row is never changed', () => {
    const s = stream();
    const r = when(s.backstage('bs-1', 1000), s.failed('bs-1', 'AGENT_OFFLINE', 5000), s.output('bs-1', 6000));
    assert.equal(r.rows.length, 2);
    assert.equal(r.rows[1]?.correlation_id, 'bs-1');
    assert.notEqual(r.rows[1]?.id, 'bs-1');
    assert.equal(r.rows[1]?.details.late, true);
  });

  it('gateway audit events are rows as they are; a duplicate id is written once', () => {
    const s = stream();
    const login = s.audit('login', 100);
    when(login, s.audit('viewer_joined', 200, 'cs-1'), login).thenRows(
      ['event_type', 'session_id', 'user_id'],
      [
        ['login', null, 'u-1'],
        ['viewer_joined', 'cs-1', 'u-1'],
      ],
    );
  });

  it('heartbeats yield agent_online once, and agent_offline when it stops', () => {
    const s = stream();
    when(s.status(1), s.status(2), s.status(3), s.status(4, true), s.status(5)).thenRows(
      ['event_type', 'seq'],
      [
        ['agent_online', 1],
        ['agent_offline', 4],
        ['agent_online', 5],
      ],
    );
  });
});

describe('audit hash chain', () => {
  const row = (id: string, seq: number, details: Record<string, unknown> = { a: 1 }): AuditRow => ({
    id,
    seq,
    session_id: null,
    user_id: 'u-1',
    user_name: 'ann',
    agent_id: A,
    event_type: 'login',
    details,
    created_at: new Date(seq * 1000),
    correlation_id: null,
  });

  it('canonical JSON sorts keys and drops undefined, so a jsonb round trip hashes the same', () => {
    assert.equal(canonicalJson({ b: 1, a: [true, null, { d: undefined, c: 'x' }] }), '{"a":[true,null,{"c":"x"}],"b":1}');
    assert.equal(rowHash(GENESIS_HASH, row('r', 1, { b: 2, a: 1 })), rowHash(GENESIS_HASH, row('r', 1, { a: 1, b: 2 })));
  });

  it('each hash covers the previous one: the same rows chain to the same head, any change breaks it', () => {
    const rows = [row('r1', 1), row('r2', 2), row('r3', 3)];
    const chained = chain(GENESIS_HASH, rows);
    assert.equal(chained[1]?.hash, rowHash(chained[0]!.hash, rows[1]!));
    assert.deepEqual(
      chain(GENESIS_HASH, rows).map((r) => r.hash),
      chained.map((r) => r.hash),
    );
    const tampered = chain(GENESIS_HASH, [rows[0]!, row('r2', 2, { a: 2 }), rows[2]!]);
    assert.equal(tampered[0]?.hash, chained[0]?.hash);
    assert.notEqual(tampered[2]?.hash, chained[2]?.hash, 'a changed middle row changes every later hash');
    assert.notEqual(chain('other-head', rows)[0]?.hash, chained[0]?.hash);
  });

  it('NUL characters are stripped and lone surrogates replaced before storing (Postgres text and jsonb refuse them)', () => {
    assert.deepEqual(cleanForJsonb({ t: 'a\u0000b', n: [1, 'x\u0000'], ['k\ud800']: 'x\ud800', ok: '\ud83d\ude00' }), { t: 'ab', n: [1, 'x'], 'k\ufffd': 'x\ufffd', ok: '\ud83d\ude00' });
  });

  it('cleaning gives exactly what a JSON round trip gives (what jsonb stores and the hash must match)', () => {
    const safe = (x: string) => (x as string & { toWellFormed(): string }).toWellFormed().replaceAll('\u0000', '');
    // jsonb keeps the last of duplicate keys, and two keys may become one once cleaned.
    const keys = (x: unknown): unknown => {
      if (Array.isArray(x)) return x.map(keys);
      if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [safe(k), keys(y)]));
      return x;
    };
    const roundTrip = (v: unknown) => keys(JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'string' ? safe(x) : x))));
    const str = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('\u0000', 'a\u0000b\u0000', 'x\ud800', '\udc00y\u0000', '__proto__', 'toJSON'));
    const value = fc.anything({
      key: str,
      values: [str, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.date()],
      withDate: true,
      withMap: true,
      withSet: true,
      withSparseArray: true,
      withNullPrototype: true,
      withTypedArray: true,
    });
    fc.assert(
      fc.property(fc.dictionary(str, value), (v) => assert.deepEqual(cleanForJsonb(v), roundTrip(v))),
      { numRuns: 500 },
    );
  });
});
