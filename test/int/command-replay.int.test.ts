/**
 * Stored commands cannot be replayed into an agent: the whole stack with a real agent process. A
 * backstage command that ran is published again, byte for byte, after the agent restarted (as a push
 * consumer pointed at gc.cmd.<agent>.backstage would deliver it) and does not run again; a command
 * dated outside the window does not run at all; a fresh one does (the control that shows the path
 * used by the test runs commands).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type JetStreamManager, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { SEEN_FILE_NAME } from '../../agent/runtime/seen-store.js';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { decode, encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { type Api, eventually, login } from '../support/api.js';
import { busAs, jetstreamManager } from '../reliability/support.js';

const agentId = 'replay-test-agent' as AgentId;

describe('stored commands cannot be replayed into an agent (whole stack, real agent process)', { timeout: 240_000 }, () => {
  let stack: Stack;
  let dir: string;
  let admin: Api;
  let launcher: NatsConnection;
  let jsm: JetStreamManager;
  /** The agent's JSON log lines (proto/log/logger.ts); anything else its process printed is skipped. */
  const agentLog = () =>
    readFileSync(join(dir, 'logs', 'agent.log'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; agent_id?: string; correlation_id?: string; command?: string });
  const onlineLines = () => agentLog().filter((l) => l.msg?.startsWith(`online as ${agentId}`)).length;
  /** The message of the agent's log line refusing command `id`, once it is there: logged under the command's id and the agent's. */
  const refusal = async (id: string) => {
    const line = await eventually(async () => agentLog().find((l) => l.correlation_id === id), `the agent logging ${id}`, 30_000);
    assert.deepEqual([line.agent_id, line.command], [agentId, 'backstageCommand']);
    assert.match(line.msg ?? '', new RegExp(`^refused stored command ${id} `));
    return line.msg ?? '';
  };
  /** A backstage exec of `echo ran >> file` dated `atMs`, as the gateway would publish it. */
  const execCommand = (file: string, atMs: number) =>
    message(
      { backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND, commandText: `echo ran >> ${file}`, shell: pb.Shell.SHELL_DEFAULT } },
      { agentId, atMs, actor: { userId: 'u-x', userName: 'mallory', role: 'admin' } },
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-replay-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs: 500, fastPostgres: true });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    await eventually(async () => {
      const r = await admin.get<{ online: boolean }>(`/api/machines/${agentId}`);
      return r.status === 200 && r.body.online ? true : undefined;
    }, 'the agent online');
    launcher = await busAs(stack, 'launcher');
    jsm = await jetstreamManager(launcher);
  });
  after(async () => {
    await launcher?.close().catch(() => {});
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a backstage command published again after an agent restart does not run again', async () => {
    const file = join(dir, 'ran-once.txt');
    const r = await admin.post<{ command_id: string; exit_code: number }>(`/api/machines/${agentId}/backstage/exec`, { command: `echo ran >> ${file}` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(readFileSync(file, 'utf8'), 'ran\n');
    // The command exactly as the stream holds it.
    const stored = await jsm.streams.getMessage(Streams.events.name, { last_by_subj: subjects.command(agentId, 'backstage') });
    assert.ok(stored);
    const d = decode(stored.data, stored.subject);
    assert.ok(d.ok);
    assert.equal(d.value.meta.id, r.body.command_id);
    assert.ok(existsSync(join(dir, 'agent', SEEN_FILE_NAME)), 'the agent keeps its seen ids next to its creds');

    const before = onlineLines();
    await stack.restart('agent');
    await eventually(async () => (onlineLines() > before ? true : undefined), 'the restarted agent online', 60_000);
    // Core NATS with the launcher's creds: delivered to the agent whatever the stream's duplicate window says.
    launcher.publish(subjects.command(agentId, 'backstage'), stored.data);
    await launcher.flush();
    const line = await refusal(r.body.command_id);
    assert.match(line, /already run/);
    assert.equal(readFileSync(file, 'utf8'), 'ran\n', 'the command ran once');
  });

  it('refuses a stored command dated before the window or too far ahead; runs a fresh one', async () => {
    const oldFile = join(dir, 'old.txt');
    const aheadFile = join(dir, 'ahead.txt');
    const freshFile = join(dir, 'fresh.txt');
    const old = execCommand(oldFile, Date.now() - 10 * 60_000);
    const ahead = execCommand(aheadFile, Date.now() + 10 * 60_000);
    for (const m of [old, ahead]) launcher.publish(subjects.command(agentId, 'backstage'), encode(m));
    await launcher.flush();
    assert.match(await refusal(old.meta!.id!), /stale/);
    assert.match(await refusal(ahead.meta!.id!), /future/);
    // Control: the same path with a current date runs, so the two above could have run.
    const fresh = execCommand(freshFile, Date.now());
    launcher.publish(subjects.command(agentId, 'backstage'), encode(fresh));
    await eventually(async () => (existsSync(freshFile) ? true : undefined), 'the fresh command run');
    assert.equal(readFileSync(freshFile, 'utf8'), 'ran\n');
    assert.equal(existsSync(oldFile), false, 'the old command did not run');
    assert.equal(existsSync(aheadFile), false, 'the command from the future did not run');
    // Refused commands are not answered: no backstage output correlated with them in the stream.
    const answered = await eventually(async () => {
      const m = await jsm.streams.getMessage(Streams.events.name, { last_by_subj: subjects.agentEvent(agentId, 'backstageOutput') });
      const o = m && decode(m.data);
      return o?.ok && o.value.meta.correlationId === fresh.meta!.id && o.value.backstageOutput?.final ? true : undefined;
    }, 'the fresh command answered');
    assert.equal(answered, true);
    const correlations = new Set<string>();
    const consumer = await jetstream(launcher).consumers.get(Streams.events.name, { filter_subjects: subjects.agentEvent(agentId, 'backstageOutput') });
    for await (const m of await consumer.fetch({ max_messages: 10_000, expires: 5000 })) {
      const o = decode(m.data);
      if (o.ok) correlations.add(o.value.meta.correlationId ?? '');
      if (m.info.pending === 0) break;
    }
    assert.ok(correlations.has(fresh.meta!.id!));
    assert.equal(correlations.has(old.meta!.id!), false);
    assert.equal(correlations.has(ahead.meta!.id!), false);
  });
});
