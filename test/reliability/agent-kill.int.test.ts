/**
 * Fault: the agent is killed (SIGKILL) while a backstage command runs. The waiting API caller hears
 * AGENT_OFFLINE after a few missed heartbeats instead of waiting for the command's deadline, the
 * machine shows offline, and the audit log records both the failed command and agent_offline.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import { type Api, eventually, login } from '../support/api.js';

type AuditRow = { id: string; event_type: string; agent_id: string | null; details: Record<string, unknown> };

describe('fault: agent killed mid-command', { timeout: 120_000 }, () => {
  let stack: Stack;
  let dir: string;
  let admin: Api;
  const agentId = 'kill-test-agent';
  const heartbeatMs = 500;
  // What the stack's gateway runs with: its configured default unless the environment overrides it.
  const offlineAfterBeats = gatewayConfigSchema.shape.offlineAfterBeats.parse(process.env.GC_OFFLINE_AFTER_BEATS);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-kill-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs, fastPostgres: true });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    await eventually(async () => {
      const r = await admin.get<{ online: boolean }>(`/api/machines/${agentId}`);
      return r.status === 200 && r.body.online ? true : undefined;
    }, 'the agent online');
  });
  after(async () => {
    // The command's shell outlives its killed agent: end it by the pid it wrote.
    const pidFile = join(dir, 'cmd.pid');
    if (existsSync(pidFile))
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
      } catch {
        /* already gone */
      }
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails the waiting command with AGENT_OFFLINE, marks the machine offline and audits both', async () => {
    const pidFile = join(dir, 'cmd.pid');
    const started = Date.now();
    const pending = admin.post<{ error_code: string; message: string }>(`/api/machines/${agentId}/backstage/exec`, {
      command: `echo $$ > ${pidFile}; exec sleep 60`,
      timeout_secs: 120,
    });
    await eventually(async () => (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() ? true : undefined), 'the command running');
    const killedAt = Date.now();
    stack.services.agent!.proc.kill('SIGKILL');

    const r = await pending;
    const answeredAfterMs = Date.now() - killedAt;
    console.log(
      `agent killed ${killedAt - started} ms into the command; the caller got ${r.status} ${r.body.error_code} ${answeredAfterMs} ms later (heartbeat ${heartbeatMs} ms, command deadline 125 s)`,
    );
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error_code, 'AGENT_OFFLINE');
    // The gateway waits out its allowance of missed beats (never less), then answers within about
    // two more intervals (the last beat came up to one interval before the kill; checks run 4 times
    // an interval): far sooner than the command's own 120 s deadline.
    const silentMs = Number(/silent for (\d+) ms/.exec(r.body.message)?.[1]);
    assert.ok(silentMs > heartbeatMs * offlineAfterBeats, `silent ${silentMs} ms before AGENT_OFFLINE: ${r.body.message}`);
    const bound = heartbeatMs * (offlineAfterBeats + 2);
    assert.ok(answeredAfterMs < bound, `AGENT_OFFLINE came ${answeredAfterMs} ms after the kill; expected within ${bound} ms (heartbeat ${heartbeatMs} ms x (${offlineAfterBeats} + 2))`);

    await eventually(async () => {
      const m = await admin.get<{ online: boolean }>(`/api/machines/${agentId}`);
      return m.body.online === false ? true : undefined;
    }, 'the machine offline');

    const rows = await eventually(
      async () => {
        const a = await admin.get<{ events: AuditRow[] }>(`/api/audit?agent=${agentId}&limit=200`);
        const failed = a.body.events.find((e) => e.event_type === 'backstage_command' && e.details.error_code === 'AGENT_OFFLINE');
        const offline = a.body.events.find((e) => e.event_type === 'agent_offline');
        return failed && offline ? { failed, offline } : undefined;
      },
      'audit rows for the failed command and agent_offline',
      30_000,
    );
    assert.equal(rows.failed.details.failed_by, 'gateway');
    assert.equal(rows.failed.details.ok, false);
    assert.equal(rows.offline.details.reason, 'heartbeat timeout');
  });
});
