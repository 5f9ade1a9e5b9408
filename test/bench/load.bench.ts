/**
 * `npm run bench:load`: the full-size load run against a fresh whole stack — 10,000 simulated
 * agents (each its own TLS connection and credentials, held by a few fleet processes), 30 s
 * heartbeats, a session-list change per agent per minute, 50 viewers issuing commands for 60 s —
 * and, while the whole fleet is still up, the machines page in Chromium. Sizes: GC_LOAD_AGENTS,
 * GC_LOAD_VIEWERS, GC_LOAD_SECS, GC_LOAD_HEARTBEAT_MS, GC_LOAD_SESSION_CHANGE_MS, GC_LOAD_PROCESSES,
 * GC_LOAD_CONNECT_CONCURRENCY (connections opened at once per fleet process, default 100).
 * GC_LOAD_SCREENSHOT names a PNG for the page with the whole fleet on it.
 * Prints every figure (with `--json`: one JSON line each on stdout) and exits non-zero when
 * anything was lost or failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack } from '../../infra/launcher/stack.js';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { type LoadReport, formatReport, percentiles, runLoad } from '../load/simulator.js';
import { jsonLine } from './json-line.js';
import { type MachinesPageTimings, measureMachinesPage } from './machines-page-browser.js';
import type { BenchRow } from './types.js';

const json = process.argv.includes('--json');
const agents = Number(process.env.GC_LOAD_AGENTS ?? 10_000);
const viewers = Number(process.env.GC_LOAD_VIEWERS ?? 50);
const seconds = Number(process.env.GC_LOAD_SECS ?? 60);
const heartbeatMs = Number(process.env.GC_LOAD_HEARTBEAT_MS ?? 30_000);
const sessionChangeMs = Number(process.env.GC_LOAD_SESSION_CHANGE_MS ?? 60_000);
/** What "bounded" means for the services' memory under this load. */
const RSS_BOUND_MB = 512;
// In --json mode stdout carries only the JSON lines.
const say = (m: string) => (json ? process.stderr.write(`[bench:load] ${m}\n`) : console.log(`[bench:load] ${m}`));

const dir = mkdtempSync(join(tmpdir(), 'gc-bench-load-'));
const stack = await startStack({ dataDir: dir, port: 0, agent: false, fastPostgres: true, log: say });
let failed = true;
try {
  // Baseline of the credentials figure: the same registry issuing one agent at a time.
  const auth = await prepareNatsAuth(stack.natsAuthDir);
  const oneByOne = 300;
  const tb = performance.now();
  for (let i = 0; i < oneByOne; i++) {
    const r = await auth.issueAgentCreds(`baseline-${i}`);
    if (!r.ok) throw new Error(r.error.message);
  }
  const oneByOneMs = (performance.now() - tb) / oneByOne;

  let page: MachinesPageTimings | undefined;
  // Agent ids are load-<run>-<n>: the filters below name some of them.
  const run = Math.random().toString(36).slice(2, 7);
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
    connectConcurrency: Number(process.env.GC_LOAD_CONNECT_CONCURRENCY ?? 100),
    processes: process.env.GC_LOAD_PROCESSES ? Number(process.env.GC_LOAD_PROCESSES) : undefined,
    log: say,
    runId: run,
    whileFleetUp: async () => {
      say('measuring the machines page in Chromium with the whole fleet up');
      page = await measureMachinesPage({
        url: stack.url,
        user: stack.admin,
        loads: 5,
        // One machine by id, a tenth of a percent of the fleet, one user of every machine, nothing.
        filters: [`load-${run}-${Math.floor(agents * 0.4321)}`, `load-${run}-99`, '-u2', `${run}-12`, 'rdp', 'no-such-machine'],
        screenshotPath: process.env.GC_LOAD_SCREENSHOT,
      });
    },
  });
  const rows = benchRows(report, page, oneByOneMs);
  if (!json) console.log(`\n${formatReport(report)}\n`);
  for (const r of rows) {
    if (json) process.stdout.write(`${JSON.stringify(jsonLine('load', r))}\n`);
    else console.log(`  ${r.figure}: ${r.value}\n      vs ${r.baseline}: ${r.baselineValue}${r.note ? `\n      ${r.note}` : ''}`);
  }
  if (!json) console.log(JSON.stringify({ ...report, machinesPage: page }));
  failed = report.errors > 0 || report.lostEvents > 0 || report.lostAuditRows > 0 || report.duplicatedCommands > 0 || !page;
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

function benchRows(r: LoadReport, page: MachinesPageTimings | undefined, oneByOneMs: number): BenchRow[] {
  const f1 = (n: number) => n.toFixed(1);
  const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
  const size = `${r.agents.toLocaleString('en-US')} agents (${r.fleetProcesses} fleet processes, each agent its own TLS connection and credentials), ${r.heartbeatMs / 1000} s heartbeats, a session-list change per agent per ${r.sessionChangeMs / 1000} s, ${r.viewers} viewers, ${r.durationS} s`;
  const batchMs = (r.credsS * 1000) / r.agents;
  const rows: BenchRow[] = [
    {
      figure: `credentials issued ahead (${r.agents.toLocaleString('en-US')} agents, one batch)`,
      value: `${f1(r.credsS)} s (${batchMs.toFixed(2)} ms per agent)`,
      baseline: 'issueAgentCreds one agent at a time (300 agents, same registry)',
      baselineValue: `${oneByOneMs.toFixed(2)} ms per agent`,
      measured: { value: batchMs, unit: 'ms/agent', baselineValue: oneByOneMs },
    },
    {
      figure: `start-up: ${size}; from the first connection to the last machines row`,
      value: `${f1(r.startupS)} s (all connected and announced after ${f1(r.startup.connectS)} s)`,
      baseline: 'goal',
      baselineValue: '< 60 s',
      measured: { value: r.startupS, unit: 's', goal: '< 60 s', met: r.startupS < 60 },
    },
    {
      figure: 'projection lag p99 (session list published -> machines row at its sequence)',
      value: `p50 ${r.projectionLagMs.p50} ms / p99 ${r.projectionLagMs.p99} ms (n=${r.projectionLagMs.n})`,
      baseline: 'the same probes, publish to stream ack only',
      baselineValue: `p50 ${r.probeAckMs.p50} ms / p99 ${r.probeAckMs.p99} ms`,
      measured: { value: r.projectionLagMs.p99, unit: 'ms', baselineValue: r.probeAckMs.p99, goal: '< 1000 ms', met: r.projectionLagMs.n > 0 && r.projectionLagMs.p99 < 1000 },
    },
    {
      figure: 'errors / lost events / lost audit rows / duplicated commands',
      value: `${r.errors} / ${r.lostEvents} / ${r.lostAuditRows} / ${r.duplicatedCommands} (${f0(r.eventsPublished)} events, ${f0(r.commands.switch)} switches, ${f0(r.commands.backstage)} execs)`,
      baseline: 'goal',
      baselineValue: '0 / 0 / 0 / 0',
      measured: {
        value: r.errors + r.lostEvents + r.lostAuditRows + r.duplicatedCommands,
        unit: 'count',
        goal: '0',
        met: r.errors + r.lostEvents + r.lostAuditRows + r.duplicatedCommands === 0,
      },
    },
    {
      figure: 'switch round trip over HTTP under load',
      value: `p50 ${r.switchRoundTripMs.p50} ms / p99 ${r.switchRoundTripMs.p99} ms`,
      baseline: 'backstage exec round trip, same run',
      baselineValue: `p50 ${r.backstageRoundTripMs.p50} ms / p99 ${r.backstageRoundTripMs.p99} ms`,
      measured: { value: r.switchRoundTripMs.p50, unit: 'ms', baselineValue: r.backstageRoundTripMs.p50 },
    },
    ...(
      [
        ['gateway', r.gatewayRssMb],
        ['projections', r.projectionsRssMb],
      ] as const
    ).map(([name, m]) => ({
      figure: `${name} RSS, most during the run`,
      value: `${m.max} MB (end ${m.end} MB)`,
      baseline: `${name} RSS before the fleet started`,
      baselineValue: `${m.start} MB`,
      measured: { value: m.max, unit: 'MB', baselineValue: m.start, goal: `≤ ${RSS_BOUND_MB} MB`, met: m.max > 0 && m.max <= RSS_BOUND_MB },
    })),
    {
      figure: 'simulated fleet RSS (all fleet processes), most during the run',
      value: `${r.fleetRssMb.max} MB (${f0((r.fleetRssMb.max * 1024) / r.agents)} KB per agent)`,
      baseline: 'simulator control process',
      baselineValue: `${r.simulatorRssMb.max} MB`,
      measured: { value: r.fleetRssMb.max, unit: 'MB', baselineValue: r.simulatorRssMb.max },
    },
  ];
  if (page) {
    const first = percentiles(page.firstRows.map((x) => x.ms));
    const firstApi = percentiles(page.firstRows.map((x) => x.apiMs));
    const filter = percentiles(page.filters.map((x) => x.ms));
    const filterApi = percentiles(page.filters.map((x) => x.apiMs));
    rows.push(
      {
        figure: `machines page in Chromium, first rows on screen (${page.firstRows.length} fresh loads, ${page.shownTotal})`,
        value: `p50 ${first.p50} ms / max ${first.max} ms`,
        baseline: 'its GET /api/machines request (resource timing)',
        baselineValue: `p50 ${firstApi.p50} ms / max ${firstApi.max} ms`,
        measured: { value: first.max, unit: 'ms', baselineValue: firstApi.max, goal: '< 1000 ms', met: first.max < 1000 },
      },
      {
        figure: `machines page in Chromium, last keystroke of a filter to its rows on screen (${page.filters.length} filters: ${page.filters.map((x) => `"${x.q}" ${x.matching}`).join(', ')})`,
        value: `p50 ${filter.p50} ms / max ${filter.max} ms`,
        baseline: 'its filtered GET /api/machines request (resource timing)',
        baselineValue: `p50 ${filterApi.p50} ms / max ${filterApi.max} ms`,
        measured: { value: filter.max, unit: 'ms', baselineValue: filterApi.max, goal: '< 200 ms', met: filter.max < 200 },
      },
    );
  }
  return rows;
}
