/**
 * Load simulator: N simulated agents (each its own TLS NATS connection and credentials, held by a
 * few fleet processes: test/load/fleet.ts) sending heartbeats and session-list changes, and M
 * viewers issuing switches and backstage commands through the gateway's HTTP API, against a running stack. Measures projection lag, command round trips,
 * gateway RSS and errors, then checks that no event was lost: every agent's machines row reached its
 * last event and every command the viewers issued has its audit row.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { type Api, login } from '../support/api.js';
import { startFleet } from './fleet.js';
import { type SimAgentStats, defaultSessions } from './sim-agent.js';

export interface LoadOptions {
  gatewayUrl: string;
  natsUrl: string | string[];
  databaseUrl: string;
  natsAuthDir: string;
  /** The stack's NATS CA file (stack.natsCa). */
  natsCa?: string;
  admin: { name: string; password: string };
  gatewayPid?: number;
  /** The projections process (its RSS is reported like the gateway's). */
  projectionsPid?: number;
  agents: number;
  viewers: number;
  durationMs: number;
  heartbeatMs?: number;
  /** Mean time between one agent's session-list changes. */
  sessionChangeMs?: number;
  /** Agents connecting at once while starting up, per fleet process. */
  connectConcurrency?: number;
  /** Processes holding the simulated agents' connections (default: one per 2,500 agents, at most 4). */
  processes?: number;
  /** Agents are named load-<runId>-<n> (default: random). */
  runId?: string;
  /** Runs after the load phase while every agent is still connected and beating (e.g. a browser measurement). */
  whileFleetUp?: () => Promise<void>;
  log?: (m: string) => void;
}

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LoadReport {
  agents: number;
  viewers: number;
  durationS: number;
  eventsPublished: number;
  commands: { switch: number; backstage: number };
  projectionLagMs: Percentiles;
  /** The lag probe's publish alone (to the stream's ack): the bus's part of the projection lag. */
  probeAckMs: Percentiles;
  switchRoundTripMs: Percentiles;
  backstageRoundTripMs: Percentiles;
  gatewayRssMb: RssMb;
  projectionsRssMb: RssMb;
  /** This process: the viewers, the lag probe and the fleet's control. */
  simulatorRssMb: RssMb;
  /** The fleet's processes together: the simulated agents' connections. */
  fleetRssMb: RssMb;
  fleetProcesses: number;
  errors: number;
  errorSamples: string[];
  lostEvents: number;
  lostAuditRows: number;
  duplicatedCommands: number;
  agentDuplicatesFiltered: number;
  heartbeatMs: number;
  sessionChangeMs: number;
  /** Issuing every agent's credentials (one batch, before the fleet starts). */
  credsS: number;
  /**
   * Start-up, from the fleet starting to connect to the last machines row: connectS until the last
   * agent had connected and published its status and sessions, visibleS the wait for the rows after.
   */
  startupS: number;
  startup: { connectS: number; visibleS: number };
  catchUpS: number;
}

export interface RssMb {
  start: number;
  max: number;
  end: number;
}

export function percentiles(samples: number[]): Percentiles {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
  return { n: s.length, p50: round(at(50)), p99: round(at(99)), max: round(s[s.length - 1] ?? 0) };
}
const round = (n: number) => Math.round(n * 10) / 10;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  if (pid === process.pid) return Math.round(process.memoryUsage.rss() / 2 ** 20);
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

/** Runs the load and returns its figures; throws only on set-up failure. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const log = o.log ?? (() => {});
  const heartbeatMs = o.heartbeatMs ?? 30_000;
  const sessionChangeMs = o.sessionChangeMs ?? 60_000;
  const run = o.runId ?? Math.random().toString(36).slice(2, 7);
  const errors: string[] = [];
  const fail = (what: string) => {
    errors.push(what);
    if (errors.length <= 5) log(`error: ${what}`);
  };
  const db = new pg.Pool({ connectionString: o.databaseUrl, max: 4, application_name: 'gc-load' });
  const auth = await prepareNatsAuth(o.natsAuthDir);
  // The fleet's processes are summed: together they are the simulated agents' side.
  const watched: Record<'gateway' | 'projections' | 'simulator' | 'fleet', number[]> = {
    gateway: o.gatewayPid ? [o.gatewayPid] : [],
    projections: o.projectionsPid ? [o.projectionsPid] : [],
    simulator: [process.pid],
    fleet: [],
  };
  const rssOf = (pids: number[]) => pids.reduce((n, pid) => n + rssMb(pid), 0);
  const rss = Object.fromEntries(Object.entries(watched).map(([k, pids]) => [k, { start: rssOf(pids), max: 0, end: 0 }])) as Record<keyof typeof watched, RssMb>;
  const sampleRss = (end = false) => {
    for (const [k, pids] of Object.entries(watched) as [keyof typeof watched, number[]][]) {
      const now = rssOf(pids);
      rss[k].max = Math.max(rss[k].max, now);
      if (end) rss[k].end = now;
    }
  };
  const rssTimer = setInterval(sampleRss, 1000);

  const ids = Array.from({ length: o.agents }, (_, i) => `load-${run}-${i}`);
  // Credentials are issued ahead, as enrollment gives them to real machines before they ever start:
  // the fleet's start-up is then what a restart of every agent at once costs (connect, announce, project).
  const tc0 = Date.now();
  const issued = await auth.issueAgentCredsBatch(ids);
  const credsS = (Date.now() - tc0) / 1000;
  log(`credentials for ${o.agents} agents issued in ${credsS.toFixed(1)} s (one batch)`);
  const start = ids.map((agentId, k) => {
    const c = issued[k]!;
    if (!c.ok) throw new Error(`credentials for ${agentId}: ${c.error.message}`);
    return { agentId, creds: c.value.creds, sessions: defaultSessions(agentId) };
  });
  const processes = o.processes ?? Math.min(4, Math.ceil(o.agents / 2500));
  const fleet = startFleet({ processes, servers: o.natsUrl, caFile: o.natsCa, heartbeatMs, connectConcurrency: o.connectConcurrency ?? 50 });
  watched.fleet = fleet.pids;
  await fleet.ready();
  log(`starting ${o.agents} simulated agents in ${processes} process(es), each agent its own TLS connection and credentials`);
  const t0 = Date.now();
  fleet.add(start);
  await fleet.started(o.agents);
  const agents = fleet.agents;
  const connectS = (Date.now() - t0) / 1000;
  log(`${o.agents} agents connected after ${connectS.toFixed(1)} s; waiting for their machines rows`);
  // Every agent visible and online before viewers start (the API refuses commands to unknown machines).
  for (;;) {
    const r = await db.query<{ n: string }>(`select count(*) as n from machines where agent_id like $1`, [`load-${run}-%`]);
    if (Number(r.rows[0]?.n) >= o.agents) break;
    if (Date.now() - t0 > 120_000 + o.agents * 100) throw new Error(`only ${r.rows[0]?.n} of ${o.agents} machines appeared`);
    await sleep(200);
  }
  const startupS = (Date.now() - t0) / 1000;
  log(`agents online after ${startupS.toFixed(1)} s; running ${o.viewers} viewers for ${o.durationMs / 1000} s`);

  const admin: Api = await login(o.gatewayUrl, o.admin.name, o.admin.password);
  const deadline = Date.now() + o.durationMs;
  const lag: number[] = [];
  const ack: number[] = [];
  const switchRtt: number[] = [];
  const backstageRtt: number[] = [];
  const commandIds: string[] = [];
  let switches = 0;
  let execs = 0;
  const pick = () => agents[Math.floor(Math.random() * agents.length)]!;

  const viewer = async (v: number) => {
    for (let i = 0; Date.now() < deadline; i++) {
      const a = pick();
      const t = performance.now();
      try {
        if ((i + v) % 2 === 0) {
          switches++;
          const target = a.sessions.some((s) => s.sessionId === 2) && Math.random() < 0.5 ? 2 : 1;
          const r = await admin.post<{ command_id?: string; error_code?: string; message?: string }>(`/api/machines/${a.agentId}/switch-session`, { session_id: target });
          if (r.status !== 200) fail(`switch ${a.agentId} -> ${target}: ${r.status} ${r.body?.error_code} ${r.body?.message}`);
          else {
            switchRtt.push(performance.now() - t);
            if (r.body.command_id) commandIds.push(r.body.command_id);
          }
        } else {
          execs++;
          const r = await admin.post<{ command_id?: string; error_code?: string; message?: string }>(`/api/machines/${a.agentId}/backstage/exec`, { command: `echo load ${v} ${i}` });
          if (r.status !== 200) fail(`exec on ${a.agentId}: ${r.status} ${r.body?.error_code} ${r.body?.message}`);
          else {
            backstageRtt.push(performance.now() - t);
            if (r.body.command_id) commandIds.push(r.body.command_id);
          }
        }
      } catch (e) {
        fail(`viewer ${v}: ${(e as Error).message}`);
      }
    }
  };

  // Session-list changes: each agent, on average every sessionChangeMs, gains or loses a third login.
  const churn = async () => {
    const perTick = Math.max(1, Math.round((o.agents * 200) / sessionChangeMs));
    while (Date.now() < deadline) {
      for (let k = 0; k < perTick; k++) {
        const a = pick();
        const next = a.sessions.length > 2 ? a.sessions.slice(0, 2) : [...a.sessions, { ...defaultSessions(a.agentId)[0]!, sessionId: 3, userName: `${a.agentId}-rdp`, type: 1, capturable: false }];
        a.setSessions(next).catch((e) => fail(`sessions of ${a.agentId}: ${(e as Error).message}`));
      }
      await sleep(200);
    }
  };

  // Lag probe: publish a change, then watch its machines row reach the event's stream sequence.
  const probe = async () => {
    while (Date.now() < deadline) {
      const a = pick();
      const t = performance.now();
      try {
        const seq = await a.setSessions([...a.sessions]);
        ack.push(performance.now() - t);
        for (;;) {
          const r = await db.query<{ s: string }>('select last_seq as s from machines where agent_id = $1', [a.agentId]);
          if (Number(r.rows[0]?.s ?? 0) >= seq) break;
          if (performance.now() - t > 60_000) throw new Error(`event ${seq} of ${a.agentId} not projected within 60 s`);
          await sleep(5);
        }
        lag.push(performance.now() - t);
      } catch (e) {
        fail(`lag probe: ${(e as Error).message}`);
      }
      await sleep(100);
    }
  };

  await Promise.all([...Array.from({ length: o.viewers }, (_, v) => viewer(v)), churn(), probe()]);
  log(`load phase over: ${switches} switches, ${execs} execs, ${errors.length} errors; checking for lost events`);

  if (o.whileFleetUp) {
    log('load phase over; the fleet keeps beating while the caller measures');
    await o.whileFleetUp().catch((e) => fail(`while the fleet was up: ${(e as Error).message}`));
  }

  // Quiesce, then every machines row must reach its agent's last event, and every command its audit row.
  await fleet.stopHeartbeats();
  await sleep(500);
  const reports = await fleet.reports();
  const tc = Date.now();
  let lostEvents = o.agents;
  let lostAuditRows = commandIds.length;
  while (Date.now() - tc < 60_000) {
    const rows = await db.query<{ agent_id: string; last_seq: string }>('select agent_id, last_seq from machines where agent_id like $1', [`load-${run}-%`]);
    const seqs = new Map(rows.rows.map((r) => [r.agent_id, Number(r.last_seq)]));
    lostEvents = reports.filter((a) => (seqs.get(a.agentId) ?? 0) !== a.lastMachineSeq).length + (o.agents - reports.length);
    const audited = commandIds.length ? await db.query<{ n: string }>('select count(*) as n from events where id = any($1)', [commandIds]) : { rows: [{ n: '0' }] };
    lostAuditRows = commandIds.length - Number(audited.rows[0]?.n ?? 0);
    if (lostEvents === 0 && lostAuditRows === 0) break;
    await sleep(250);
  }
  const catchUpS = (Date.now() - tc) / 1000;
  // Session rows must equal each agent's last list.
  const counts = await db.query<{ agent_id: string; n: string }>('select agent_id, count(*) as n from windows_sessions where agent_id like $1 group by agent_id', [`load-${run}-%`]);
  const byAgent = new Map(counts.rows.map((r) => [r.agent_id, Number(r.n)]));
  const wrongSessions = agents.filter((a) => byAgent.get(a.agentId) !== a.sessions.length).length;
  if (wrongSessions) fail(`${wrongSessions} agents' windows_sessions rows differ from their last list`);
  const dupAudit = await db.query<{ n: string }>('select count(*) as n from (select id from events where id = any($1) group by id having count(*) > 1) d', [commandIds]);

  clearInterval(rssTimer);
  sampleRss(true);
  const total = (k: keyof SimAgentStats) => reports.reduce((n, a) => n + a.stats[k], 0);
  for (const a of reports) if (a.stats.publishErrors) fail(`${a.agentId}: ${a.stats.publishErrors} publish errors`);
  await fleet.close();
  await db.end();
  return {
    agents: o.agents,
    viewers: o.viewers,
    durationS: o.durationMs / 1000,
    eventsPublished: total('heartbeats') + total('sessionLists'),
    commands: { switch: switches, backstage: execs },
    projectionLagMs: percentiles(lag),
    probeAckMs: percentiles(ack),
    switchRoundTripMs: percentiles(switchRtt),
    backstageRoundTripMs: percentiles(backstageRtt),
    gatewayRssMb: rss.gateway,
    projectionsRssMb: rss.projections,
    simulatorRssMb: rss.simulator,
    fleetRssMb: rss.fleet,
    fleetProcesses: processes,
    errors: errors.length,
    errorSamples: errors.slice(0, 10),
    lostEvents,
    lostAuditRows,
    duplicatedCommands: total('reruns') + Number(dupAudit.rows[0]?.n ?? 0),
    agentDuplicatesFiltered: total('duplicates'),
    heartbeatMs,
    sessionChangeMs,
    startupS,
    credsS,
    startup: { connectS, visibleS: startupS - connectS },
    catchUpS,
  };
}

/** One line per figure, for logs and docs. */
export function formatReport(r: LoadReport): string {
  const p = (x: Percentiles) => `p50 ${x.p50} ms / p99 ${x.p99} ms (n=${x.n}, max ${x.max})`;
  return [
    `agents ${r.agents} (${r.heartbeatMs / 1000} s heartbeat, a session-list change per agent every ${r.sessionChangeMs / 1000} s), viewers ${r.viewers}, ${r.durationS} s`,
    `credentials issued ahead: ${r.agents} in ${r.credsS.toFixed(1)} s`,
    `start-up ${r.startupS.toFixed(1)} s: every agent connected and announced after ${r.startup.connectS.toFixed(1)} s, every machines row ${r.startup.visibleS.toFixed(1)} s later`,
    `events published ${r.eventsPublished}; commands: ${r.commands.switch} switches, ${r.commands.backstage} backstage execs`,
    `projection lag (publish -> machines row): ${p(r.projectionLagMs)}; of which publish to ack ${p(r.probeAckMs)}`,
    `switch round trip (HTTP): ${p(r.switchRoundTripMs)}`,
    `backstage exec round trip (HTTP): ${p(r.backstageRoundTripMs)}`,
    ...(
      [
        ['gateway', r.gatewayRssMb],
        ['projections', r.projectionsRssMb],
        ['simulator', r.simulatorRssMb],
        [`fleet (${r.fleetProcesses} processes)`, r.fleetRssMb],
      ] as const
    ).map(([k, m]) => `${k} RSS: start ${m.start} MB, max ${m.max} MB, end ${m.end} MB`),
    `errors ${r.errors}; lost events ${r.lostEvents}; lost audit rows ${r.lostAuditRows}; duplicated commands ${r.duplicatedCommands}; catch-up ${r.catchUpS.toFixed(1)} s`,
    ...r.errorSamples.map((e) => `  error: ${e}`),
  ].join('\n');
}
