/**
 * The projections process (projections/main.ts, as the launcher runs it) is SIGKILLed while it
 * applies batches of a large backlog of mixed events, then started again. Every read model must
 * end up exactly as a rebuild from sequence 1 makes it, and the audit log exactly as the stream
 * replays it (rows and hash chain): nothing lost, nothing doubled, no half batch.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { type Child, startChild } from '../../infra/servers/child.js';
import { encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { projections } from '../../projections/all.js';
import { verifyAudit } from '../../projections/audit/verify.js';
import { rebuildProjection } from '../../projections/rebuild/rebuild.js';
import { type Backbone, startBackbone } from '../support/servers.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const agents = Array.from({ length: 20 }, (_, i) => `kw-${i}` as AgentId);
const ann = { userId: 'u-adm', userName: 'ann', role: 'admin' };
const TABLES = { events: 'seq', audit_pending: 'command_id', audit_agents: 'agent_id', machines: 'agent_id', windows_sessions: 'agent_id, session_id', connect_sessions: 'id' } as const;

/** Event i of a repeating block of ten per agent: status, sessions, a switch and its result, a backstage command and its output, a viewer joining and leaving, a denial. */
function eventAt(i: number): [string, ReturnType<typeof message>] {
  const b = Math.floor(i / 10);
  const a = agents[b % agents.length]!;
  const at = 1_700_000_000_000 + i;
  const meta = { agentId: a, atMs: at };
  const sessions = { currentSessionId: 1 + (b % 3), sessions: [1, 2, 3].map((s) => ({ sessionId: s, userName: `u${(b + s) % 7}`, state: s === 1 ? 0 : 1, type: s === 1 ? 0 : 1, capturable: true })) };
  switch (i % 10) {
    case 0:
      return b % 11 === 10
        ? [subjects.agentEvent(a, 'status'), message({ agentStatus: { hostname: `h-${a}`, state: pb.AgentState.AGENT_STOPPING } }, meta)]
        : [subjects.agentEvent(a, 'status'), message({ agentStatus: { hostname: `h-${a}`, version: `v${b}`, currentSessionId: 1, sessions } }, meta)];
    case 1:
      return [subjects.agentEvent(a, 'sessions'), message({ sessionList: sessions }, meta)];
    case 2:
      return [subjects.command(a, 'switchSession'), message({ switchSession: { fromSessionId: 1, targetSessionId: 2, viewerId: `cs-${b}` } }, { ...meta, id: `sw-${b}`, actor: ann })];
    case 3:
      return [
        subjects.agentEvent(a, 'switched'),
        message(
          {
            sessionSwitched: {
              ok: b % 4 !== 0,
              fromSessionId: 1,
              toSessionId: 2,
              viewerId: `cs-${b}`,
              durationMs: 30,
              ...(b % 4 === 0 ? { error: { code: 'SESSION_NOT_FOUND', message: 'gone' } } : {}),
            },
          },
          { ...meta, correlationId: `sw-${b}` },
        ),
      ];
    case 4:
      return [
        subjects.command(a, 'backstage'),
        message({ backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND, commandText: `echo ${b}`, shell: pb.Shell.SHELL_CMD } }, { ...meta, id: `bc-${b}`, actor: ann }),
      ];
    case 5:
      return [subjects.agentEvent(a, 'backstageOutput'), message({ backstageOutput: { chunk: { data: `out ${b}` } } }, { ...meta, correlationId: `bc-${b}` })];
    case 6:
      return b % 5 === 0
        ? // Never answered: stays in audit_pending. Every seventh one times out at the gateway.
          [subjects.audit('login'), message({ audit: { eventType: 'login', detailsJson: '{}' } }, { ...meta, actor: ann })]
        : b % 7 === 0
          ? [subjects.audit('command_failed'), message({ audit: { eventType: 'command_failed', detailsJson: '{"error_code":"TIMEOUT"}' } }, { ...meta, correlationId: `bc-${b}`, actor: ann })]
          : [
              subjects.agentEvent(a, 'backstageOutput'),
              message({ backstageOutput: { final: true, commandOutput: { exitCode: b % 3, durationMs: 12, outputBytes: 6, runAsUser: 'SYSTEM' } } }, { ...meta, correlationId: `bc-${b}` }),
            ];
    case 7:
      return [
        subjects.audit('viewer_joined'),
        message({ audit: { eventType: 'viewer_joined', connectSessionId: `cs-${b}`, windowsSessionId: 1, detailsJson: '{"session_type":"screen_control"}' } }, { ...meta, actor: ann }),
      ];
    case 8:
      return b % 3 === 0
        ? [subjects.agentEvent(a, 'status'), message({ agentStatus: { hostname: `h-${a}`, version: `v${b}`, currentSessionId: 2 } }, meta)]
        : [subjects.audit('viewer_left'), message({ audit: { eventType: 'viewer_left', connectSessionId: `cs-${b}`, windowsSessionId: 2, detailsJson: '{}' } }, { ...meta, actor: ann })];
    default:
      return [
        subjects.audit('access_denied'),
        message({ audit: { eventType: 'access_denied', detailsJson: `{"action":"backstage","n":${b}}` } }, { ...meta, actor: { userId: 'u-op', userName: 'otto', role: 'operator' } }),
      ];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('projections process SIGKILLed mid-batch (real nats-server, PostgreSQL and child process)', { timeout: 120_000 }, () => {
  let backbone: Backbone | undefined;
  let db: Kysely<Database>;
  let child: Child | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'gc-kill-worker-'));
  const logFile = join(dir, 'projections.log');

  const startWorker = () =>
    startChild(process.execPath, ['--import', 'tsx', join(repo, 'projections/main.ts')], {
      logFile,
      cwd: repo,
      env: { ...process.env, NATS_URL: backbone!.nats.url, DATABASE_URL: backbone!.pgs.url, GC_AUDIT_RETENTION_DAYS: '0' },
    });
  const checkpoints = async () => new Map((await db.selectFrom('projection_checkpoints').select(['name', 'last_seq']).execute()).map((r) => [r.name, Number(r.last_seq)]));
  const publish = async (from: number, to: number) => {
    let last = 0;
    for (let i = from; i < to; i += 500) {
      const acks = [];
      for (let j = i; j < Math.min(to, i + 500); j++) {
        const [subject, m] = eventAt(j);
        acks.push(backbone!.js.publish(subject, encode(m), { msgID: m.meta!.id! }));
      }
      last = Math.max(last, ...(await Promise.all(acks)).map((x) => x.seq));
    }
    return last;
  };
  const dump = async () => {
    const out: Record<string, unknown[]> = {};
    for (const [t, order] of Object.entries(TABLES)) out[t] = (await sql<Record<string, unknown>>`select * from ${sql.table(t)} order by ${sql.raw(order)}`.execute(db)).rows;
    return out;
  };

  before(async () => {
    backbone = await startBackbone();
    db = backbone.db;
  });
  after(async () => {
    await child?.stop();
    await backbone?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restarted after kill -9 in the middle of a batch, every read model equals a rebuild and the audit log equals the replay', async () => {
    const last1 = await publish(0, 20_000);
    child = startWorker();
    // Kill while the audit worker has committed part of the backlog and has a batch transaction open
    // (its statements name its tables; other projections' do not).
    let killed: { audit: number; busy: number } | undefined;
    const deadline = Date.now() + 60_000;
    while (!killed && Date.now() < deadline) {
      const r = await sql<{ audit: string | null; busy: string }>`select (select last_seq from projection_checkpoints where name = 'audit') as audit,
        (select count(*) from pg_stat_activity where application_name = 'gc-projections' and xact_start is not null
          and state in ('active', 'idle in transaction') and query ~ '"(events|audit_pending|audit_agents)"') as busy`.execute(db);
      const audit = Number(r.rows[0]?.audit ?? 0);
      const busy = Number(r.rows[0]?.busy ?? 0);
      if (audit >= 2000 && audit < last1 && busy > 0) {
        child.proc.kill('SIGKILL');
        killed = { audit, busy };
      } else if (audit >= last1) break;
      else await sleep(2);
    }
    assert.ok(killed, `the worker was killed mid-stream (log: ${readFileSync(logFile, 'utf8').slice(-2000)})`);
    assert.equal(await child.exited, null, 'died by the signal');
    assert.equal(child.proc.signalCode, 'SIGKILL');
    const afterKill = await checkpoints();
    const ackState = await (await jetstreamManager(backbone!.nc)).consumers.info(Streams.events.name, 'audit');
    console.log(
      `killed with audit checkpoint ${killed.audit} of ${last1} (its batch transaction open); after the kill: checkpoints ${JSON.stringify(Object.fromEntries(afterKill))}, audit consumer delivered ${ackState.delivered.stream_seq}, ack floor ${ackState.ack_floor.stream_seq}`,
    );
    assert.ok((afterKill.get('audit') ?? 0) < last1, 'work was left for the restarted worker');
    assert.ok(ackState.delivered.stream_seq > ackState.ack_floor.stream_seq, 'the server had delivered events the dead worker never acked');

    // More events while it is down, including results of commands asked before the kill.
    await publish(20_000, 22_000);
    // Filtered projections only see their subjects: end with a status every one of them reads.
    const [subject, m] = eventAt(22_000);
    const last2 = (await backbone!.js.publish(subject, encode(m), { msgID: m.meta!.id! })).seq;
    child = startWorker();
    const until = Date.now() + 60_000;
    for (;;) {
      const cps = await checkpoints();
      if (projections.every((p) => (cps.get(p.name) ?? 0) >= last2)) break;
      assert.ok(Date.now() < until, `caught up (checkpoints ${JSON.stringify(Object.fromEntries(cps))}, log: ${readFileSync(logFile, 'utf8').slice(-2000)})`);
      await sleep(50);
    }
    const live = await dump();
    assert.ok(live.events!.length > 10_000 && live.audit_pending!.length > 0 && live.connect_sessions!.length > 0, 'a real mix of rows');

    // The audit log equals a clean replay of the stream: same rows, same hashes, nothing missing or extra.
    const v = await verifyAudit(backbone!.nc, db);
    assert.deepEqual(v.findings, []);
    assert.equal(v.rowsChecked, live.events!.length);
    // And every table equals a rebuild from sequence 1.
    for (const def of projections) {
      const r = await rebuildProjection({ nc: backbone!.nc, db, def });
      assert.ok(r.ok, r.ok ? '' : r.error.message);
    }
    const rebuilt = await dump();
    for (const t of Object.keys(TABLES)) assert.deepEqual(rebuilt[t], live[t], `${t} after the kill equals its rebuild`);
    assert.match(readFileSync(logFile, 'utf8'), /running: machines, windows_sessions, connect_sessions, audit/);
  });
});
