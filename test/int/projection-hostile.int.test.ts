/**
 * Property: whatever an agent (or a buggy gateway) publishes, every projection's checkpoint reaches
 * the stream's last sequence, `audit verify` reports exactly the quarantined events, and the next
 * good event is projected. Real nats-server and PostgreSQL; the four projections of projections/all.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { projections } from '../../projections/all.js';
import { quarantineRowId } from '../../projections/audit/audit-quarantine.js';
import { verifyAudit } from '../../projections/audit/verify.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import type { ProjectionWorker } from '../../projections/runtime/types.js';
import { type Backbone, startBackbone } from '../support/servers.js';

// A liveness bound, not a timing assertion: a stalled projection never reaches the sequence.
const LIVE_MS = 60_000;
const AGENTS = ['hostile-1', 'hostile-2'] as AgentId[];
const GOOD = 'hostile-good' as AgentId;
const AUDIT_TYPES = ['login', 'login_failed', 'viewer_joined', 'viewer_left', 'backstage_entered', 'backstage_exited', 'command_failed', 'access_denied'] as const;

// Strings: lone surrogates (escaped inside JSON they reach Postgres; raw in proto they make the
// message undecodable), NUL, 10k characters, arbitrary code units.
const str = fc.oneof(
  fc.constantFrom('', 'x\ud800', '\udc00y', '\u0000', 'a\u0000b', 'é😀', 'y'.repeat(10_000), '__proto__'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const ascii = fc.oneof(fc.constantFrom('', '\u0000', 'a\u0000b', 'z'.repeat(10_000)), fc.string({ maxLength: 12 }));
const u32 = fc.constantFrom(0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1);
const u64 = fc.constantFrom(0, 2 ** 32 - 1, 2 ** 53 - 1);
const time = fc.constantFrom(0, -1, -1e15, 1e15, 8.64e15, 2 ** 53 - 1, -(2 ** 53 - 1), Date.now(), Date.now() - 40 * 86_400_000);
const details = fc.oneof(
  str.map((s) => JSON.stringify({ name: s, n: 2 ** 53 - 1, nested: { [s]: [s, -1e300] } })),
  str,
);

interface Ev {
  subject: string;
  m: ReturnType<typeof message>;
}

const agentEvent = fc.constantFrom(...AGENTS).chain((agent) =>
  fc.oneof(
    fc
      .record({ hostname: ascii, osVersion: ascii, version: ascii, platform: ascii, heartbeatIntervalMs: u32, currentSessionId: u32, uptimeSecs: u64, state: fc.integer({ min: 0, max: 9 }), at: time })
      .map(({ at, ...s }): Ev => ({ subject: subjects.agentEvent(agent, 'status'), m: message({ agentStatus: s }, { agentId: agent, atMs: at }) })),
    fc
      .record({
        currentSessionId: u32,
        at: time,
        sessions: fc.array(
          fc.record({
            sessionId: u32,
            userName: ascii,
            domain: ascii,
            idleSecs: u32,
            logonTimeMs: time,
            stationName: ascii,
            clientName: ascii,
            clientAddress: ascii,
            state: fc.integer({ min: 0, max: 9 }),
            type: fc.integer({ min: 0, max: 9 }),
          }),
          { maxLength: 3 },
        ),
      })
      .map(({ at, ...l }): Ev => ({ subject: subjects.agentEvent(agent, 'sessions'), m: message({ sessionList: l }, { agentId: agent, atMs: at }) })),
    fc
      .record({ ok: fc.boolean(), fromSessionId: u32, toSessionId: u32, viewerId: ascii, durationMs: u64, cid: ascii, at: time })
      .map(({ cid, at, ...s }): Ev => ({ subject: subjects.agentEvent(agent, 'switched'), m: message({ sessionSwitched: s }, { agentId: agent, atMs: at, correlationId: cid }) })),
    fc.record({ final: fc.boolean(), commandType: fc.integer({ min: 0, max: 9 }), stdout: str, exitCode: fc.integer(), durationMs: u64, outputBytes: u64, runAsUser: ascii, cid: ascii, at: time }).map(
      ({ final, commandType, cid, at, ...o }): Ev => ({
        subject: subjects.agentEvent(agent, 'backstageOutput'),
        m: message({ backstageOutput: { final, commandType, commandOutput: o } }, { agentId: agent, atMs: at, correlationId: cid }),
      }),
    ),
  ),
);

const auditEvent = fc
  .record({ type: fc.constantFrom(...AUDIT_TYPES), eventType: fc.oneof(fc.constantFrom(...AUDIT_TYPES), ascii), cs: ascii, win: u32, details, userId: ascii, userName: ascii, cid: ascii, at: time })
  .map(
    (a): Ev => ({
      subject: subjects.audit(a.type),
      m: message(
        { audit: { eventType: a.eventType, connectSessionId: a.cs, windowsSessionId: a.win, detailsJson: a.details } },
        { actor: { userId: a.userId, userName: a.userName }, atMs: a.at, correlationId: a.cid },
      ),
    }),
  );

describe('projections under hostile events (real nats-server and PostgreSQL)', () => {
  let backbone: Backbone | undefined;
  let db: Kysely<Database>;
  const workers: ProjectionWorker[] = [];

  before(async () => {
    backbone = await startBackbone();
    db = backbone.db;
    for (const p of projections) workers.push(await startProjection(p, { nc: backbone.nc, db }));
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await backbone?.stop();
  });

  it('every checkpoint reaches the stream end, verify reports exactly the quarantined events, the next good event is projected', async (t) => {
    const js = backbone!.js;
    const jsm = await jetstreamManager(backbone!.nc);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(agentEvent, auditEvent), { minLength: 1, maxLength: 6 }), async (events) => {
        run++;
        for (const e of events) await js.publish(e.subject, encode(e.m));
        const marker = `good-${run}`;
        await js.publish(subjects.audit('login'), encode(message({ audit: { eventType: 'login', detailsJson: JSON.stringify({ marker }) } }, { actor: { userId: 'u-good', userName: 'good' } })));
        // Last: a status with its session list, on a subject all four projections read (or pass).
        const last = (
          await js.publish(
            subjects.agentEvent(GOOD, 'status'),
            encode(message({ agentStatus: { hostname: marker, sessions: { sessions: [{ sessionId: run, userName: marker }] } } }, { agentId: GOOD })),
          )
        ).seq;
        assert.equal((await jsm.streams.info(Streams.events.name)).state.last_seq, last);
        for (const w of workers) assert.ok(await w.caughtUp(last, LIVE_MS), `${w.name} reached the stream's last seq ${last} (stats ${JSON.stringify(w.stats())})`);

        const machine = await db.selectFrom('machines').select('hostname').where('agent_id', '=', GOOD).executeTakeFirstOrThrow();
        assert.equal(machine.hostname, marker);
        const ws = await db.selectFrom('windows_sessions').select(['session_id', 'user_name']).where('agent_id', '=', GOOD).execute();
        assert.deepEqual(
          ws.map((r) => [Number(r.session_id), r.user_name]),
          [[run, marker]],
        );
        const login = await db.selectFrom('events').select('details').where('event_type', '=', 'login').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
        assert.equal(login.details.marker, marker);

        const quarantined = await db.selectFrom('quarantined_events').select('stream_seq').where('projection', '=', 'audit').execute();
        const v = await verifyAudit(backbone!.nc, db, { graceMs: LIVE_MS });
        assert.deepEqual(v.findings.map((f) => [f.kind, f.id]).sort(), quarantined.map((q) => ['quarantined', quarantineRowId(Number(q.stream_seq))]).sort());
      }),
      { numRuns: 15, endOnFailure: true },
    );
    const q = await db.selectFrom('quarantined_events').select(['projection', 'error_code']).execute();
    t.diagnostic(`${run} runs; quarantined: ${JSON.stringify(q)}; undecodable: ${JSON.stringify(workers.map((w) => [w.name, w.stats().undecodable]))}`);
  });
});
