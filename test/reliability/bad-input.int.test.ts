/**
 * Bad input on every way in: malformed, truncated and oversized protobuf on the subjects the agent,
 * the projections and the gateway consume; a 10,000-entry session list with every kind of Unicode
 * in user names; HTTP bodies that fail validation; ids with wildcards. Each is refused or dropped,
 * every process stays up, and a normal request works afterwards.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { MAX_MESSAGE_BYTES, encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { type SimAgent, startSimAgent } from '../load/sim-agent.js';
import { type Api, eventually, login } from '../support/api.js';
import { busAs, jetstreamManager, lastSeq, pg, waitForCheckpoint } from './support.js';

const UNICODE_NAMES = ['Zoë', 'Ñandú', 'ユーザー', '用户', 'مستخدم', 'משתמש', '👩🏽‍💻 admin', 'a\u200Db', 'e\u0301', '\u{1F600}', 'Ω≈ç√', 'x'.repeat(300), 'tab\there', 'new\nline'];

describe('bad input on every subject and endpoint', { timeout: 180_000 }, () => {
  let stack: Stack;
  let dir: string;
  let admin: Api;
  let sim: SimAgent;
  let db: pg.Pool;
  const agentId = 'bad-input-agent' as AgentId;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-bad-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs: 1000, fastPostgres: true });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    db = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
    const creds = await (await prepareNatsAuth(stack.natsAuthDir)).issueAgentCreds('bad-input-sim');
    assert.ok(creds.ok);
    sim = await startSimAgent({ agentId: 'bad-input-sim', servers: stack.natsUrl, caFile: stack.natsCa, creds: creds.value.creds, heartbeatMs: 1000 });
    await eventually(async () => ((await admin.get<{ online: boolean }>(`/api/machines/${agentId}`)).body.online ? true : undefined), 'the agent online');
  });
  after(async () => {
    await sim?.close();
    await db?.end();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const garbage = (): Uint8Array[] => {
    const valid = encode(message({ backstageCommand: { commandText: 'echo hi' } }, { agentId }));
    return [
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]),
      valid.slice(0, valid.length - 3),
      new Uint8Array(0),
      new TextEncoder().encode('{"json": true}'),
      new Uint8Array(MAX_MESSAGE_BYTES - 1024).fill(0x0a),
    ];
  };

  it('the agent rejects malformed, truncated, oversized and foreign commands and keeps working', async () => {
    // What the two well-formed forgeries would create if the agent ran them.
    const forgedAgent = join(dir, 'ran-for-someone-else');
    const forgedSubject = join(dir, 'ran-from-the-wrong-subject');
    const nc = await busAs(stack, 'launcher');
    try {
      for (const kind of ['backstage', 'switchSession', 'input', 'stream', 'requestSessions'] as const) {
        for (const bytes of garbage()) nc.publish(subjects.command(agentId, kind), bytes);
      }
      // A well-formed command for another agent on our subject, and a payload on the wrong subject.
      nc.publish(subjects.command(agentId, 'backstage'), encode(message({ backstageCommand: { commandText: `touch ${forgedAgent}` } }, { agentId: 'someone-else' })));
      nc.publish(subjects.command(agentId, 'switchSession'), encode(message({ backstageCommand: { commandText: `touch ${forgedSubject}` } }, { agentId })));
      await nc.flush();
    } finally {
      await nc.close();
    }
    const r = await eventually(async () => {
      const x = await admin.post<{ stdout: string }>(`/api/machines/${agentId}/backstage/exec`, { command: 'echo still-here' });
      return x.status === 200 ? x : undefined;
    }, 'a normal command afterwards');
    assert.equal(r.body.stdout, 'still-here\n');
    // The agent handles its commands in arrival order and the forgeries came first: had it run them,
    // their files would exist by the time the later command has answered.
    assert.equal(existsSync(forgedAgent), false, 'the command for another agent did not run');
    assert.equal(existsSync(forgedSubject), false, 'the command on the wrong subject did not run');
    // The agent logs JSON lines (proto/log/logger.ts); the reason is in each line's message.
    const rejected = readFileSync(join(dir, 'logs', 'agent.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => String((JSON.parse(l) as { msg?: unknown }).msg ?? ''))
      .filter((msg) => msg.startsWith('rejected command'));
    assert.equal(rejected.length, 5 * garbage().length + 2, `each bad command was rejected and logged:\n${rejected.join('\n')}`);
    assert.ok(
      rejected.some((l) => l.includes('meta.agent_id "someone-else" does not match')),
      'the forgery for another agent was refused for that',
    );
    assert.ok(
      rejected.some((l) => /payload backstageCommand does not belong on \S+switch-session/.test(l)),
      'the payload on the wrong subject was refused for that',
    );
    assert.equal(stack.services.agent!.proc.exitCode, null);
  });

  it('projections and gateway drop bad events, store 10,000 sessions with any Unicode, and go on', async () => {
    const nc = await busAs(stack, 'launcher');
    const jsm = await jetstreamManager(nc);
    try {
      const { jetstream } = await import('@nats-io/jetstream');
      const js = jetstream(nc);
      for (const kind of ['status', 'sessions', 'switched', 'backstageOutput'] as const) {
        for (const bytes of garbage().slice(0, 4)) await js.publish(subjects.agentEvent('bad-input-sim' as AgentId, kind), bytes);
      }
      // Oversized for our codec (1 MB): the server's max_payload is the same limit, so it is refused at publish.
      await assert.rejects(async () => js.publish(subjects.agentEvent('bad-input-sim' as AgentId, 'sessions'), new Uint8Array(1_500_000).fill(0x0a)), /max_payload/);
      const big = Array.from({ length: 10_000 }, (_, i) => ({
        sessionId: i + 1,
        userName: `${UNICODE_NAMES[i % UNICODE_NAMES.length]}-${i}`,
        state: pb.SessionState.SESSION_ACTIVE,
        type: pb.WindowsSessionType.SESSION_RDP,
        stationName: `RDP-Tcp#${i}`,
        capturable: i % 2 === 0,
      }));
      const seq = await sim.setSessions(big);
      await waitForCheckpoint(db, 'windows_sessions', seq);
      await waitForCheckpoint(db, 'audit', await lastSeq(jsm));
      const r = await admin.get<{ sessions: { id: number; user: string }[] }>('/api/machines/bad-input-sim/windows-sessions');
      assert.equal(r.status, 200);
      assert.equal(r.body.sessions.length, 10_000);
      for (const s of r.body.sessions) assert.equal(s.user, big[s.id - 1]!.userName, `user name of session ${s.id} intact`);
      const gwLog = readFileSync(join(dir, 'logs', 'gateway.log'), 'utf8');
      assert.ok((gwLog.match(/dropped event/g) ?? []).length >= 10, 'the gateway counted and logged the bad events');
      // And the machine is still live: a normal session list replaces the big one.
      const seq2 = await sim.setSessions(big.slice(0, 2));
      await waitForCheckpoint(db, 'windows_sessions', seq2);
      const r2 = await admin.get<{ sessions: unknown[] }>('/api/machines/bad-input-sim/windows-sessions');
      assert.equal(r2.body.sessions.length, 2);
      for (const name of ['projections', 'gateway', 'agent']) assert.equal(stack.services[name]!.proc.exitCode, null, `${name} is up`);
    } finally {
      await nc.close();
    }
  });

  it('answers invalid HTTP bodies and ids with clear envelopes, then serves normal requests', async () => {
    const post = (path: string, body: string, type = 'application/json') =>
      fetch(`${stack.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin.token}`, 'content-type': type }, body });
    const cases: [string, Response, number, string][] = [
      ['wrong type', await post(`/api/machines/${agentId}/switch-session`, '{"session_id":"one"}'), 400, 'VALIDATION_FAILED'],
      ['negative id', await post(`/api/machines/${agentId}/switch-session`, '{"session_id":-1}'), 400, 'VALIDATION_FAILED'],
      ['not JSON', await post(`/api/machines/${agentId}/switch-session`, '{"session_id":'), 400, 'VALIDATION_FAILED'],
      ['empty command', await post(`/api/machines/${agentId}/backstage/exec`, '{"command":""}'), 400, 'VALIDATION_FAILED'],
      ['too large', await post(`/api/machines/${agentId}/backstage/exec`, JSON.stringify({ command: 'x'.repeat(100_000) })), 413, 'PAYLOAD_TOO_LARGE'],
      ['wildcard id', await post('/api/machines/a.*/switch-session', '{"session_id":1}'), 400, 'VALIDATION_FAILED'],
      ['gt id', await post('/api/machines/%3E/backstage/exec', '{"command":"id"}'), 400, 'VALIDATION_FAILED'],
    ];
    for (const [what, res, status, code] of cases) {
      const body = (await res.json()) as { error_code: string; message: string; correlation_id: string };
      assert.equal(res.status, status, `${what}: ${JSON.stringify(body)}`);
      assert.equal(body.error_code, code, what);
      assert.ok(body.message.length > 0 && body.correlation_id.length > 0, what);
    }
    const ok = await admin.get<{ machines: { agent_id: string }[] }>('/api/machines');
    assert.equal(ok.status, 200);
    assert.ok(ok.body.machines.some((m) => m.agent_id === agentId));
  });
});
