/**
 * Load simulator: N simulated agents (each its own NATS connection and credentials) sending
 * heartbeats and session-list changes, and M viewers issuing switches and backstage commands through
 * the gateway's HTTP API, against a running stack. Measures projection lag, command round trips,
 * gateway RSS and errors, then checks that no event was lost: every agent's machines row reached its
 * last event and every command the viewers issued has its audit row.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { type Api, login } from '../support/api.js';
import { type SimAgent, defaultSessions, startSimAgent } from './sim-agent.js';

export interface LoadOptions {
  gatewayUrl: string;
  natsUrl: string | string[];
  databaseUrl: string;
  natsAuthDir: string;
  /** The stack's NATS CA file (stack.natsCa). */
  natsCa?: string;
  admin: { name: string; password: string };
  gatewayPid?: number;
  agents: number;
  viewers: number;
  durationMs: number;
  heartbeatMs?: number;
  /** Mean time between one agent's session-list changes. */
  sessionChangeMs?: number;
  /** Agents connected at once while starting up. */
  connectConcurrency?: number;
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
  switchRoundTripMs: Percentiles;
  backstageRoundTripMs: Percentiles;
  gatewayRssMb: { start: number; max: number; end: number };
  errors: number;
  errorSamples: string[];
  lostEvents: number;
  lostAuditRows: number;
  duplicatedCommands: number;
  agentDuplicatesFiltered: number;
  startupS: number;
  catchUpS: number;
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
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** Runs the load and returns its figures; throws only on set-up failure. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const log = o.log ?? (() => {});
  const heartbeatMs = o.heartbeatMs ?? 5000;
  const sessionChangeMs = o.sessionChangeMs ?? 10_000;
  const run = Math.random().toString(36).slice(2, 7);
  const errors: string[] = [];
  const fail = (what: string) => {
    errors.push(what);
    if (errors.length <= 5) log(`error: ${what}`);
  };
  const db = new pg.Pool({ connectionString: o.databaseUrl, max: 4, application_name: 'gc-load' });
  const auth = await prepareNatsAuth(o.natsAuthDir);
  const rss = { start: rssMb(o.gatewayPid), max: 0, end: 0 };
  const rssTimer = setInterval(() => {
    rss.max = Math.max(rss.max, rssMb(o.gatewayPid));
  }, 1000);

  const t0 = Date.now();
  const ids = Array.from({ length: o.agents }, (_, i) => `load-${run}-${i}`);
  const agents: SimAgent[] = [];
  log(`starting ${o.agents} simulated agents`);
  await inBatches(ids, o.connectConcurrency ?? 50, async (id) => {
    const creds = await auth.issueAgentCreds(id);
    if (!creds.ok) throw new Error(creds.error.message);
    agents.push(await startSimAgent({ agentId: id, servers: o.natsUrl, caFile: o.natsCa, creds: creds.value.creds, heartbeatMs, sessions: defaultSessions(id) }));
  });
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

  // Quiesce, then every machines row must reach its agent's last event, and every command its audit row.
  for (const a of agents) a.stopHeartbeats();
  await sleep(500);
  const tc = Date.now();
  let lostEvents = o.agents;
  let lostAuditRows = commandIds.length;
  while (Date.now() - tc < 60_000) {
    const rows = await db.query<{ agent_id: string; last_seq: string }>('select agent_id, last_seq from machines where agent_id like $1', [`load-${run}-%`]);
    const seqs = new Map(rows.rows.map((r) => [r.agent_id, Number(r.last_seq)]));
    lostEvents = agents.filter((a) => (seqs.get(a.agentId) ?? 0) !== a.lastMachineSeq).length;
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
  rss.end = rssMb(o.gatewayPid);
  rss.max = Math.max(rss.max, rss.end);
  const total = (k: keyof SimAgent['stats']) => agents.reduce((n, a) => n + a.stats[k], 0);
  for (const a of agents) if (a.stats.publishErrors) fail(`${a.agentId}: ${a.stats.publishErrors} publish errors`);
  await inBatches(agents, 200, (a) => a.close());
  await db.end();
  return {
    agents: o.agents,
    viewers: o.viewers,
    durationS: o.durationMs / 1000,
    eventsPublished: total('heartbeats') + total('sessionLists'),
    commands: { switch: switches, backstage: execs },
    projectionLagMs: percentiles(lag),
    switchRoundTripMs: percentiles(switchRtt),
    backstageRoundTripMs: percentiles(backstageRtt),
    gatewayRssMb: rss,
    errors: errors.length,
    errorSamples: errors.slice(0, 10),
    lostEvents,
    lostAuditRows,
    duplicatedCommands: total('reruns') + Number(dupAudit.rows[0]?.n ?? 0),
    agentDuplicatesFiltered: total('duplicates'),
    startupS,
    catchUpS,
  };
}

/** One line per figure, for logs and docs. */
export function formatReport(r: LoadReport): string {
  const p = (x: Percentiles) => `p50 ${x.p50} ms / p99 ${x.p99} ms (n=${x.n}, max ${x.max})`;
  return [
    `agents ${r.agents}, viewers ${r.viewers}, ${r.durationS} s (start-up ${r.startupS.toFixed(1)} s)`,
    `events published ${r.eventsPublished}; commands: ${r.commands.switch} switches, ${r.commands.backstage} backstage execs`,
    `projection lag (publish -> machines row): ${p(r.projectionLagMs)}`,
    `switch round trip (HTTP): ${p(r.switchRoundTripMs)}`,
    `backstage exec round trip (HTTP): ${p(r.backstageRoundTripMs)}`,
    `gateway RSS: start ${r.gatewayRssMb.start} MB, max ${r.gatewayRssMb.max} MB, end ${r.gatewayRssMb.end} MB`,
    `errors ${r.errors}; lost events ${r.lostEvents}; lost audit rows ${r.lostAuditRows}; duplicated commands ${r.duplicatedCommands}; catch-up ${r.catchUpS.toFixed(1)} s`,
    ...r.errorSamples.map((e) => `  error: ${e}`),
  ].join('\n');
}
