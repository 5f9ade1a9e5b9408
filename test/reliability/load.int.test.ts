/**
 * Reduced load (100 simulated agents, 5 viewers, 20 s) against the whole stack: zero errors, zero
 * lost events, zero duplicated commands. Figures are logged, never asserted (machines are noisy);
 * the full size runs with `npm run bench:load`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { formatReport, runLoad } from '../load/simulator.js';

describe('load: 100 agents and 5 viewers through the whole stack', { timeout: 240_000 }, () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-load-'));
    stack = await startStack({ dataDir: dir, port: 0, agent: false, fastPostgres: true });
  });
  after(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers every command, projects every event and loses nothing', async () => {
    const report = await runLoad({
      gatewayUrl: stack.url,
      natsUrl: stack.natsUrl,
      databaseUrl: stack.databaseUrl,
      natsAuthDir: stack.natsAuthDir,
      natsCa: stack.natsCa,
      admin: stack.admin,
      gatewayPid: stack.services.gateway!.proc.pid,
      agents: 100,
      viewers: 5,
      durationMs: 20_000,
      heartbeatMs: 1000,
      sessionChangeMs: 5000,
      log: (m) => console.log(`[load] ${m}`),
    });
    console.log(formatReport(report));
    assert.deepEqual(report.errorSamples, []);
    assert.equal(report.errors, 0);
    assert.equal(report.lostEvents, 0, "every machines row reached its agent's last event");
    assert.equal(report.lostAuditRows, 0, 'every command has its audit row');
    assert.equal(report.duplicatedCommands, 0);
    assert.ok(report.commands.switch > 0 && report.commands.backstage > 0, 'the viewers issued both kinds of command');
    assert.ok(report.projectionLagMs.n > 0, 'lag was sampled');
  });
});
