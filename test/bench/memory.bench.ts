/**
 * Memory at rest (issue 18, goal 5): the whole local stack started exactly as `bash infra/up.sh`
 * starts it (built JavaScript; gateway and projections inside the launcher's process), left alone
 * 20 s after it printed its dashboard URL, then each process's PSS (/proc/<pid>/smaps_rollup) summed
 * by role. Baseline, in the same run: the same stack started the old way, `npx tsx
 * infra/launcher/main.ts` with every service through tsx and gateway and projections in separate
 * processes (GC_SERVICES_FROM_SOURCE=1 GC_SERVER_PROCESSES=separate: the code of today, so the
 * Postgres settings and the dashboard's esbuild stop are the same in both; the old launcher, before
 * them, held 406-474 MiB here per issue 18). The stacks run one after the other, never together, so
 * neither shares the other's pages. PostgreSQL counts in the stack (all its processes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../infra/servers/free-port.js';
import { type ProcessMemory, treeMemory } from '../support/process-memory.js';
import type { BenchRow, BenchRun } from './types.js';

const repo = join(import.meta.dirname, '..', '..');
const GOAL_MIB = 150;
const REST_MS = 20_000;
const SAMPLES = 3;
const SAMPLE_GAP_MS = 5_000;

/** Roles by command line, first match wins (wrappers before the launcher they run). */
const ROLES: [string, RegExp][] = [
  ['nats-server', /nats-server/],
  ['postgres', /postgres/],
  ['esbuild service processes', /esbuild --service/],
  ['npm, sh and tsx wrappers', /^(npm |sh -c|node \S*\.bin\/tsx)/],
  ['agent', /agent(\.js|\/main\.ts)/],
  ['launcher + gateway + projections', /launcher\.js|launcher\/main\.ts|server\.js|gateway\/server\.ts|projections\/main\.ts/],
];
const roleOf = (cmd: string) => ROLES.find(([, re]) => re.test(cmd))?.[0] ?? 'other';

interface Sample {
  processes: ProcessMemory[];
  totalMiB: number;
}

interface StackMemory {
  sample: Sample;
  /** Whether every process of the tree was gone after Ctrl-C (SIGINT to the process group). */
  stoppedCleanly: boolean;
  leftovers: string[];
}

const mib = (kib: number) => kib / 1024;
const sum = (ps: ProcessMemory[]) => mib(ps.reduce((a, p) => a + p.pssKiB, 0));

/** Starts a stack (`cmd args` in its own process group), waits until it is at rest, samples, and stops it with SIGINT to the group. */
async function measureStack(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, progress: (m: string) => void): Promise<StackMemory> {
  const dataDir = mkdtempSync(join(tmpdir(), `gc-memory-${name}-`));
  const port = await freePort();
  // No inherited loader: the bench itself runs under tsx, and NODE_OPTIONS would reach every service.
  const { NODE_OPTIONS: _, ...clean } = process.env;
  const proc: ChildProcess = spawn(cmd, args, { cwd: repo, env: { ...clean, ...env, GC_DATA_DIR: dataDir, PORT: String(port) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  try {
    const deadline = Date.now() + 180_000;
    while (!/Dashboard: (\S+)/.test(out)) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`${name} did not start:\n${out.slice(-2000)}`);
      await sleep(200);
    }
    const url = /Dashboard: (\S+?)\/?\s/.exec(out)![1]!;
    const health = (await (await fetch(`${url}/api/health`)).json()) as { status: string };
    if (health.status !== 'ok') throw new Error(`${name}: /api/health answered ${JSON.stringify(health)}`);
    progress(`${name}: ready; at rest for ${REST_MS / 1000} s`);
    await sleep(REST_MS);
    const samples: Sample[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      if (i) await sleep(SAMPLE_GAP_MS);
      const processes = treeMemory(proc.pid!);
      samples.push({ processes, totalMiB: sum(processes) });
    }
    // The median sample by total: one GC or heartbeat in a sample does not decide the figure.
    const sample = samples.sort((a, b) => a.totalMiB - b.totalMiB)[Math.floor(SAMPLES / 2)]!;
    progress(`${name}: ${sample.totalMiB.toFixed(1)} MiB in ${sample.processes.length} processes; Ctrl-C`);
    process.kill(-proc.pid!, 'SIGINT');
    await Promise.race([exited, sleep(60_000)]);
    await sleep(500);
    const leftovers = sample.processes.filter((p) => existsSync(`/proc/${p.pid}`) && !/^\S+ \(\S+\) Z/.test(readFileSync(`/proc/${p.pid}/stat`, 'utf8'))).map((p) => p.cmd);
    return { sample, stoppedCleanly: (proc.exitCode !== null || proc.signalCode !== null) && leftovers.length === 0, leftovers };
  } finally {
    if (proc.exitCode === null) {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {}
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Each role's PSS in MiB, and the processes behind it ("launcher 12.3, gateway 45.6"). */
function byRole(s: Sample): Map<string, { mib: number; detail: string[] }> {
  const out = new Map<string, { mib: number; detail: string[] }>();
  for (const p of s.processes) {
    const role = roleOf(p.cmd);
    const r = out.get(role) ?? { mib: 0, detail: [] };
    r.mib += mib(p.pssKiB);
    const short = p.cmd.split(' ').find((w) => /\.(js|ts)$|nats-server|esbuild|^npm$|^postgres/.test(w)) ?? p.cmd.split(' ')[0]!;
    // launcher/main.ts, projections/main.ts, gateway/server.ts: the file and its folder tell them apart.
    const label = short.endsWith('.ts') ? short.split('/').slice(-2).join('/') : short.split('/').pop();
    r.detail.push(`${label} ${mib(p.pssKiB).toFixed(1)}`);
    out.set(role, r);
  }
  // Postgres is a dozen processes (postmaster, its helpers, a backend per connection): counted, not listed.
  const pg = out.get('postgres');
  if (pg) pg.detail = [`${pg.detail.length} processes`];
  return out;
}

export const run: BenchRun = async (progress) => {
  const baseline = await measureStack('old way', 'npx', ['tsx', 'infra/launcher/main.ts'], { GC_SERVICES_FROM_SOURCE: '1', GC_SERVER_PROCESSES: 'separate' }, progress);
  const now = await measureStack('up.sh', 'bash', ['infra/up.sh'], {}, progress);
  const b = byRole(baseline.sample);
  const n = byRole(now.sample);
  const met = now.sample.totalMiB < GOAL_MIB;
  const stopNote = (s: StackMemory) => (s.stoppedCleanly ? 'Ctrl-C stopped every process' : `after Ctrl-C still running: ${s.leftovers.join('; ')}`);
  const rows: BenchRow[] = [
    {
      figure: 'local stack at rest: total PSS (bash infra/up.sh, 20 s after ready; PostgreSQL included)',
      value: `${now.sample.totalMiB.toFixed(1)} MiB in ${now.sample.processes.length} processes`,
      baseline: 'the same stack the old way (npx tsx infra/launcher/main.ts, every service through tsx, gateway and projections apart)',
      baselineValue: `${baseline.sample.totalMiB.toFixed(1)} MiB in ${baseline.sample.processes.length} processes`,
      note: `goal < ${GOAL_MIB} MiB: ${met ? 'met' : 'missed'}; ${stopNote(now)} (old way: ${stopNote(baseline)})`,
      measured: { value: Number(now.sample.totalMiB.toFixed(1)), unit: 'MiB', baselineValue: Number(baseline.sample.totalMiB.toFixed(1)), goal: `< ${GOAL_MIB} MiB`, met },
    },
  ];
  for (const role of new Set([...n.keys(), ...b.keys()])) {
    const x = n.get(role);
    const y = b.get(role);
    rows.push({
      figure: `PSS at rest: ${role}`,
      value: x ? `${x.mib.toFixed(1)} MiB` : 'none',
      baseline: 'old way',
      baselineValue: y ? `${y.mib.toFixed(1)} MiB` : 'none',
      note: `now: ${x?.detail.join(', ') ?? '-'}; old way: ${y?.detail.join(', ') ?? '-'}`,
      measured: { value: Number((x?.mib ?? 0).toFixed(1)), unit: 'MiB', baselineValue: Number((y?.mib ?? 0).toFixed(1)) },
    });
  }
  return rows;
};
