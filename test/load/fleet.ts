/**
 * The simulated fleet, spread over several processes (fleet-worker.ts) so the agents' side of 10,000
 * TLS connections can use more than one core. Every agent still has its own connection and signs in
 * with its own credentials; only the processes that hold the connections are shared.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FleetAgentReport, FleetStartAgent, FromWorker, ToWorker } from './fleet-protocol.js';
import type { SimSession } from './sim-agent.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

export interface FleetOptions {
  processes: number;
  servers: string | string[];
  caFile?: string;
  heartbeatMs: number;
  /** Connections being opened at once, per process. */
  connectConcurrency: number;
}

/** The simulator's handle on one simulated agent in some fleet process. */
export interface FleetAgent {
  readonly agentId: string;
  /** The list most recently published (the simulator is the only one that changes it). */
  readonly sessions: SimSession[];
  /** Replaces the session list and publishes it; resolves with its stream sequence. */
  setSessions(list: SimSession[]): Promise<number>;
}

export interface Fleet {
  /** Agents whose connection is up and whose first status and session list were published. */
  readonly agents: FleetAgent[];
  readonly pids: number[];
  /** Resolves when every fleet process has loaded and is waiting for agents (not part of start-up). */
  ready(): Promise<void>;
  /** Hands agents to the processes (round robin); they connect as soon as a slot is free. */
  add(agents: FleetStartAgent[]): void;
  /** Resolves when `n` agents have started; rejects on the first that could not. */
  started(n: number): Promise<void>;
  stopHeartbeats(): Promise<void>;
  /** Every agent's last status/sessions sequence and counters. */
  reports(): Promise<FleetAgentReport[]>;
  close(): Promise<void>;
}

type Pending = { resolve: (m: Extract<FromWorker, { t: 'reply' }>) => void; reject: (e: Error) => void };

export function startFleet(o: FleetOptions): Fleet {
  const workers: ChildProcess[] = Array.from({ length: Math.max(1, o.processes) }, () =>
    // Plain `node --import tsx`, not this process's flags (a test runner's --test must not be inherited).
    fork(join(here, 'fleet-worker.ts'), [], { cwd: repo, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const pending = new Map<number, Pending>();
  let rid = 0;
  const where = new Map<string, ChildProcess>();
  const sessions = new Map<string, SimSession[]>();
  const agents: FleetAgent[] = [];
  let assigned = 0;
  let failure: Error | undefined;
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const ask = (w: ChildProcess, m: ToWorker & { rid: number }): Promise<Extract<FromWorker, { t: 'reply' }>> =>
    new Promise((resolve, reject) => {
      pending.set(m.rid, { resolve, reject });
      w.send(m);
    });

  let readyCount = 0;
  const handle = (m: FromWorker) => {
    if (m.t === 'ready') {
      readyCount++;
      wake();
    } else if (m.t === 'started') {
      for (const id of m.agentIds) agents.push(agentHandle(id));
      wake();
    } else if (m.t === 'startFailed') {
      failure ??= new Error(`simulated agent ${m.agentId} did not start: ${m.message}`);
      wake();
    } else {
      const p = pending.get(m.rid);
      pending.delete(m.rid);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve(m);
    }
  };
  for (const w of workers) {
    w.on('message', handle);
    w.on('exit', (code) => {
      if (code === 0) return;
      failure ??= new Error(`a fleet process exited with ${code}`);
      for (const p of pending.values()) p.reject(failure);
      pending.clear();
      wake();
    });
    w.send({ t: 'config', servers: o.servers, caFile: o.caFile, heartbeatMs: o.heartbeatMs, connectConcurrency: o.connectConcurrency } satisfies ToWorker);
  }

  const agentHandle = (agentId: string): FleetAgent => ({
    agentId,
    get sessions() {
      return sessions.get(agentId) ?? [];
    },
    async setSessions(list) {
      sessions.set(agentId, list);
      const r = await ask(where.get(agentId)!, { t: 'setSessions', rid: ++rid, agentId, sessions: list });
      return r.seq ?? 0;
    },
  });

  const everyWorker = async <T extends ToWorker['t']>(t: T) => Promise.all(workers.map((w) => ask(w, { t, rid: ++rid } as ToWorker & { rid: number })));

  return {
    agents,
    pids: workers.map((w) => w.pid ?? 0),
    add(batch) {
      const per: FleetStartAgent[][] = workers.map(() => []);
      for (const a of batch) {
        sessions.set(a.agentId, a.sessions);
        per[assigned++ % workers.length]!.push(a);
      }
      for (const [i, list] of per.entries()) {
        for (const a of list) where.set(a.agentId, workers[i]!);
        if (list.length) workers[i]!.send({ t: 'start', agents: list } satisfies ToWorker);
      }
    },
    async ready() {
      while (readyCount < workers.length) {
        if (failure) throw failure;
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    async started(n) {
      while (agents.length < n) {
        if (failure) throw failure;
        await new Promise<void>((r) => waiters.push(r));
      }
      if (failure) throw failure;
    },
    async stopHeartbeats() {
      await everyWorker('stopHeartbeats');
    },
    async reports() {
      return (await everyWorker('report')).flatMap((r) => r.reports ?? []);
    },
    async close() {
      await everyWorker('close').catch(() => {});
      for (const w of workers) if (w.exitCode === null) w.kill();
    },
  };
}
