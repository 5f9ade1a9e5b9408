import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { auditProjection } from '../../projections/audit/audit.projection.js';
import { pendingCommands } from '../../projections/audit/pending.js';
import { matchesFilter, replayAudit } from '../../projections/audit/replay.js';
import { verifyAudit } from '../../projections/audit/verify.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import { verifyTampered } from '../support/audit-tamper.js';
import { type Backbone, startBackbone } from '../support/servers.js';

const A = 'pc-7' as AgentId;
const admin = { userId: 'u-adm', userName: 'ann', role: 'admin' };
const op = { userId: 'u-op', userName: 'otto', role: 'operator' };

describe('audit log (real nats-server and PostgreSQL)', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let db: Kysely<Database>;
  let last = 0;
  const pub = async (subject: string, m: ReturnType<typeof message>) => {
    last = (await js.publish(subject, encode(m), { msgID: m.meta!.id! })).seq;
  };
  const auditEv = (t: string, actor: typeof admin, at: number, details: object = {}, cs = '', correlationId = '') =>
    pub(subjects.audit(t), message({ audit: { eventType: t, connectSessionId: cs, detailsJson: JSON.stringify(details) } }, { agentId: A, actor, atMs: at, correlationId }));

  let backbone: Backbone | undefined;
  // One history for every case: published and projected once here, never changed by a case (the
  // tampering one rolls its edits back), so each case runs alone or in any order.
  before(async () => {
    backbone = await startBackbone();
    ({ nc, js, db } = backbone);
    await pub(subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-7', version: '1.0' } }, { agentId: A, atMs: 1000 }));
    await pub(subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-7', version: '1.0' } }, { agentId: A, atMs: 6000 }));
    await auditEv('login', admin, 1100);
    await auditEv('viewer_joined', admin, 1200, { session_type: 'screen_control' }, 'cs-1');
    await pub(subjects.command(A, 'switchSession'), message({ switchSession: { targetSessionId: 2, fromSessionId: 1, viewerId: 'cs-1' } }, { id: 'sw-1', agentId: A, actor: admin, atMs: 1300 }));
    await pub(
      subjects.agentEvent(A, 'switched'),
      message({ sessionSwitched: { ok: true, fromSessionId: 1, toSessionId: 2, viewerId: 'cs-1', durationMs: 40 } }, { agentId: A, correlationId: 'sw-1', atMs: 1340 }),
    );
    await pub(subjects.command(A, 'switchSession'), message({ switchSession: { targetSessionId: 9, fromSessionId: 2, viewerId: 'cs-1' } }, { id: 'sw-2', agentId: A, actor: admin, atMs: 1400 }));
    await pub(
      subjects.agentEvent(A, 'switched'),
      message(
        { sessionSwitched: { ok: false, fromSessionId: 2, toSessionId: 9, viewerId: 'cs-1', error: { code: 'SESSION_NOT_FOUND', message: 'no session 9' } } },
        { agentId: A, correlationId: 'sw-2', atMs: 1410 },
      ),
    );
    await auditEv('backstage_entered', admin, 1500, {}, 'cs-2');
    await pub(
      subjects.command(A, 'backstage'),
      message(
        { backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND, commandText: 'ipconfig /all', shell: pb.Shell.SHELL_CMD } },
        { id: 'bc-1', agentId: A, actor: admin, atMs: 1600 },
      ),
    );
    await pub(subjects.agentEvent(A, 'backstageOutput'), message({ backstageOutput: { chunk: { data: 'SECRET-OUTPUT' } } }, { agentId: A, correlationId: 'bc-1', atMs: 1650 }));
    await pub(
      subjects.agentEvent(A, 'backstageOutput'),
      message(
        { backstageOutput: { final: true, commandOutput: { stdout: 'SECRET-OUTPUT', exitCode: 0, durationMs: 120, outputBytes: 13, runAsUser: 'SYSTEM' } } },
        { agentId: A, correlationId: 'bc-1', atMs: 1720 },
      ),
    );
    await pub(subjects.command(A, 'backstage'), message({ backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_LIST_SERVICES } }, { id: 'bc-2', agentId: A, actor: admin, atMs: 1800 }));
    await auditEv('command_failed', admin, 31_800, { error_code: 'TIMEOUT', message: 'no answer' }, '', 'bc-2');
    await pub(subjects.command(A, 'backstage'), message({ backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_LIST_PROCESSES } }, { id: 'bc-3', agentId: A, actor: admin, atMs: 1900 }));
    await auditEv('access_denied', op, 2000, { action: 'backstage', reason: 'admin only', agent_id: A });
    await pub(subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-7', state: pb.AgentState.AGENT_STOPPING } }, { agentId: A, atMs: 9000 }));
    const w = await startProjection(auditProjection, { nc, db });
    assert.ok(await w.caughtUp(last));
    await w.stop();
  });
  after(async () => {
    await backbone?.stop();
  });

  it('turns commands, results and gateway events into exactly the expected chained rows', async () => {
    const rows = await db.selectFrom('events').selectAll().orderBy('seq').execute();
    assert.deepEqual(
      rows.map((r) => [r.event_type, r.id.startsWith('sw-') || r.id.startsWith('bc-') ? r.id : '-', r.user_name]),
      [
        ['agent_online', '-', null],
        ['login', '-', 'ann'],
        ['viewer_joined', '-', 'ann'],
        ['session_switched', 'sw-1', 'ann'],
        ['session_switch_failed', 'sw-2', 'ann'],
        ['backstage_entered', '-', 'ann'],
        ['backstage_command', 'bc-1', 'ann'],
        ['backstage_service_query', 'bc-2', 'ann'],
        ['access_denied', '-', 'otto'],
        ['agent_offline', '-', null],
      ],
    );
    const cmd = rows.find((r) => r.id === 'bc-1')!;
    assert.equal(cmd.details.command_text, 'ipconfig /all');
    assert.equal(cmd.details.shell, 'cmd');
    assert.equal(cmd.details.exit_code, 0);
    assert.equal(cmd.details.duration_ms, 120);
    assert.equal(cmd.details.output_bytes, 13);
    assert.ok(!JSON.stringify(rows).includes('SECRET-OUTPUT'), 'command output never reaches the audit log');
    assert.equal(rows.find((r) => r.id === 'sw-2')!.details.error_code, 'SESSION_NOT_FOUND');
    assert.equal(rows.find((r) => r.id === 'bc-2')!.details.error_code, 'TIMEOUT');
    assert.deepEqual(
      (await pendingCommands(db)).map((p) => [p.command_id, p.event_type]),
      [['bc-3', 'backstage_process_query']],
    );
    assert.deepEqual((await verifyAudit(nc, db)).findings, []);
  });

  it('verify reports an UPDATE and a DELETE done behind its back', async () => {
    const rows = await db.selectFrom('events').select(['id', 'event_type']).orderBy('seq').execute();
    const changed = rows.find((r) => r.event_type === 'backstage_command')!.id;
    const deleted = rows.find((r) => r.event_type === 'access_denied')!.id;
    const next = rows[rows.findIndex((r) => r.id === deleted) + 1]!.id;
    const r = await verifyTampered(nc, db, async (trx) => {
      await trx
        .updateTable('events')
        .set({ details: JSON.stringify({ command_text: 'dir' }) as unknown as Record<string, unknown> })
        .where('id', '=', changed)
        .execute();
      await trx.deleteFrom('events').where('id', '=', deleted).execute();
    });
    const f = r.findings.map((x) => [x.kind, x.id]).sort();
    assert.deepEqual(
      f,
      [
        ['altered', changed],
        ['chain_broken', changed],
        ['chain_broken', next],
        ['missing', deleted],
      ].sort(),
    );
  });

  it('replay from the stream with filters returns exactly the matching rows', async () => {
    const r = await replayAudit(nc);
    const pick = (f: Parameters<typeof matchesFilter>[1]) => r.rows.filter((x) => matchesFilter(x, f)).map((x) => x.event_type);
    assert.deepEqual(pick({ user: 'otto' }), ['access_denied']);
    assert.deepEqual(pick({ user: 'u-adm', types: ['session_switched', 'session_switch_failed'] }), ['session_switched', 'session_switch_failed']);
    assert.deepEqual(pick({ agent: A, since: new Date(1500), until: new Date(1900) }), ['backstage_entered', 'backstage_command', 'backstage_service_query']);
    assert.deepEqual(pick({ agent: 'other' }), []);
    assert.equal(r.rows.length, 10);
  });
});
