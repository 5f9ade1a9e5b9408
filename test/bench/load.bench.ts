/**
 * `npm run bench:load`: the full-size load run (10,000 simulated agents, 30 s heartbeats, a
 * session-list change per agent per minute, 50 viewers, 60 s) against a fresh whole stack. Sizes:
 * GC_LOAD_AGENTS, GC_LOAD_VIEWERS, GC_LOAD_SECS, GC_LOAD_HEARTBEAT_MS, GC_LOAD_SESSION_CHANGE_MS,
 * GC_LOAD_PROCESSES (processes holding the agents' connections).
 * Prints the figures (projection lag, command round trips, RSS, errors, lost events) and exits
 * non-zero when anything was lost or failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../../infra/launcher/stack.js';
import { formatReport, runLoad } from '../load/simulator.js';

const agents = Number(process.env.GC_LOAD_AGENTS ?? 10_000);
const viewers = Number(process.env.GC_LOAD_VIEWERS ?? 50);
const seconds = Number(process.env.GC_LOAD_SECS ?? 60);
const heartbeatMs = Number(process.env.GC_LOAD_HEARTBEAT_MS ?? 30_000);
const sessionChangeMs = Number(process.env.GC_LOAD_SESSION_CHANGE_MS ?? 60_000);
const say = (m: string) => console.log(`[bench:load] ${m}`);

const dir = mkdtempSync(join(tmpdir(), 'gc-bench-load-'));
const stack = await startStack({ dataDir: dir, port: 0, agent: false, fastPostgres: true, log: say });
let failed = true;
try {
  const report = await runLoad({
    gatewayUrl: stack.url,
    natsUrl: stack.natsUrl,
    databaseUrl: stack.databaseUrl,
    natsAuthDir: stack.natsAuthDir,
    natsCa: stack.natsCa,
    admin: stack.admin,
    gatewayPid: stack.services.gateway?.proc.pid,
    projectionsPid: stack.services.projections?.proc.pid,
    agents,
    viewers,
    durationMs: seconds * 1000,
    heartbeatMs,
    sessionChangeMs,
    connectConcurrency: 50,
    processes: process.env.GC_LOAD_PROCESSES ? Number(process.env.GC_LOAD_PROCESSES) : undefined,
    log: say,
  });
  console.log(`\n${formatReport(report)}\n`);
  console.log(JSON.stringify(report));
  failed = report.errors > 0 || report.lostEvents > 0 || report.lostAuditRows > 0 || report.duplicatedCommands > 0;
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
