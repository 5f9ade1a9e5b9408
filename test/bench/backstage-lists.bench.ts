/**
 * Backstage lists: the process list and the services list through the real stack (API -> gateway ->
 * JetStream -> agent -> answer -> API), each beside the platform's own listing command run in the
 * same loop (one call of each per round, so both see the same load), and the same lists agent-side
 * only (the backstage handler, protobuf-encoded answer included, no HTTP and no bus) so a reader sees
 * how much is listing and how much is the command path. Issue 18 goals: process list ≤ 1.5× `ps -eo
 * pid,user,rss,comm`; services list ≤ 1.5× the platform's listing command and well under 10 ms.
 */
import { createLogger } from '../../proto/log/logger.js';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLinuxPlatform } from '../../agent/platform/linux/index.js';
import { listLinuxServices } from '../../agent/platform/linux/services.js';
import type { BackstageRunner } from '../../agent/backstage/runner.js';
import { createBackstageHandler } from '../../agent/runtime/backstage-handler.js';
import { type Decoded, decode, encode, message, pb } from '../../proto/codec.js';
import { ErrorCode, err } from '../../proto/errors.js';
import { startStack } from '../../infra/launcher/stack.js';
import { eventually, login } from '../support/api.js';
import { hostServiceManager } from '../support/host.js';
import { latency, p50 } from './stats.js';
import type { BenchRow, BenchRun } from './types.js';

const run$ = promisify(execFile);
const ROUNDS = 30;

/** The platform's own service listing, as an operator would type it. */
const serviceBaseline: { label: string; file: string; args: string[] } | undefined =
  hostServiceManager === 'systemd'
    ? { label: '`systemctl list-units --type=service --all --no-pager`', file: 'systemctl', args: ['list-units', '--type=service', '--all', '--no-pager'] }
    : hostServiceManager === 'sysv'
      ? { label: '`service --status-all`', file: 'service', args: ['--status-all'] }
      : undefined;

/** `rounds` rounds of a then b, one after the other; each duration in ms. */
async function paired(rounds: number, a: () => unknown, b: () => unknown): Promise<[number[], number[]]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await a();
    ta.push(performance.now() - t);
    t = performance.now();
    await b();
    tb.push(performance.now() - t);
  }
  return [ta, tb];
}

/** The row for a figure held to "≤ factor × baseline p50" (and, if given, an absolute bound). */
function goalRow(figure: string, value: number[], baseline: string, base: number[], factor: number, maxMs?: number, note = ''): BenchRow {
  const ratio = p50(value) / p50(base);
  const goal = `≤ ${factor}x baseline p50${maxMs ? ` and < ${maxMs} ms` : ''}`;
  const met = ratio <= factor && (maxMs === undefined || p50(value) < maxMs);
  return {
    figure,
    value: latency(value),
    baseline,
    baselineValue: latency(base),
    note: `${ratio.toFixed(2)}x at p50 (issue 18 goal: ${goal}): ${met ? 'met' : 'missed'}${note ? `; ${note}` : ''}`,
    measured: { value: p50(value), unit: 'ms', baselineValue: p50(base), goal, met },
  };
}

function infoRow(figure: string, value: number[], baseline: string, base: number[], note: string): BenchRow {
  return { figure, value: latency(value), baseline, baselineValue: latency(base), note, measured: { value: p50(value), unit: 'ms', baselineValue: p50(base) } };
}

/** The backstage handler alone, its answer encoded as the publisher would; resolves when the final answer is built. */
function handlerOnly() {
  const platform = createLinuxPlatform({ openDesktop: async () => err(ErrorCode.NOT_AVAILABLE, 'not in this bench') });
  let bytes = 0;
  const handler = createBackstageHandler({
    platform,
    // Lists never reach the runner.
    runner: {} as BackstageRunner,
    publisher: {
      async event(_kind, payload, correlationId) {
        bytes = encode(message(payload, { agentId: 'bench-agent', correlationId })).length;
        return 0;
      },
      frame() {},
    },
    agentVersion: 'bench',
  });
  const quiet = createLogger({ name: 'bench-agent', level: 'silent' });
  const command = (commandType: number): Decoded => {
    const d = decode(encode(message({ backstageCommand: { commandType } }, { agentId: 'bench-agent', id: 'bench-cmd' })));
    if (!d.ok) throw new Error(d.error.message);
    return d.value;
  };
  const processes = command(pb.BackstageCommandType.BACKSTAGE_LIST_PROCESSES);
  const services = command(pb.BackstageCommandType.BACKSTAGE_LIST_SERVICES);
  return { processes: () => handler(processes, quiet), services: () => handler(services, quiet), lastBytes: () => bytes };
}

export const run: BenchRun = async (progress) => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-bench-lists-'));
  const agentId = 'bench-agent';
  const stack = await startStack({ dataDir: dir, port: 0, agentId, fastPostgres: true });
  try {
    const api = await login(stack.url, stack.admin.name, stack.admin.password);
    const listProcesses = async () => {
      const r = await api.get<{ result: { processes?: unknown[] } }>(`/api/machines/${agentId}/backstage/processes`);
      if (r.status !== 200) throw new Error(`process list failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.result.processes?.length ?? 0;
    };
    const listServices = async () => {
      const r = await api.get<{ result: { services?: unknown[]; available?: boolean; ageMs?: number } }>(`/api/machines/${agentId}/backstage/services`);
      if (r.status !== 200) throw new Error(`services list failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.result;
    };
    await eventually(async () => ((await listProcesses().catch(() => 0)) > 0 ? true : undefined), 'the agent answering backstage', 60_000);
    const ps = () => run$('ps', ['-eo', 'pid,user,rss,comm']);
    const procCount = await listProcesses();
    const rows: BenchRow[] = [];

    progress('process list: API and ps, paired');
    const [apiProcs, psApi] = await paired(ROUNDS, listProcesses, ps);
    progress('process list: handler only and ps, paired');
    const local = handlerOnly();
    const [handlerProcs, psLocal] = await paired(ROUNDS, local.processes, ps);
    const procBytes = local.lastBytes();
    rows.push(
      goalRow(`process list through the API (${procCount} processes)`, apiProcs, 'local `ps -eo pid,user,rss,comm`', psApi, 1.5, undefined, 'the API row also carries parent pid and command line'),
      infoRow(
        `process list, agent handler only (no HTTP, no bus; ${procBytes} bytes encoded)`,
        handlerProcs,
        'local `ps -eo pid,user,rss,comm`',
        psLocal,
        `API p50 minus handler p50 (the command path, measured apart): ${(p50(apiProcs) - p50(handlerProcs)).toFixed(1)} ms`,
      ),
    );

    progress('process list with 1,000 more processes (sleepers): API and ps, paired');
    const sleepers = spawn('sh', ['-c', 'i=0; while [ $i -lt 1000 ]; do sleep 600 & i=$((i+1)); done; echo ready; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((res) => sleepers.stdout.once('data', res));
      const bigCount = await listProcesses();
      const [apiBig, psBig] = await paired(10, listProcesses, ps);
      const [handlerBig, psBigLocal] = await paired(10, local.processes, ps);
      rows.push(
        goalRow(`process list through the API (${bigCount} processes: 1,000 sleepers added)`, apiBig, 'local `ps -eo pid,user,rss,comm`', psBig, 1.5, undefined, `${local.lastBytes()} bytes encoded`),
        infoRow(
          `process list, agent handler only (${bigCount} processes)`,
          handlerBig,
          'local `ps -eo pid,user,rss,comm`',
          psBigLocal,
          `API p50 minus handler p50 (the command path, measured apart): ${(p50(apiBig) - p50(handlerBig)).toFixed(1)} ms`,
        ),
      );
    } finally {
      // The shell and its sleepers are one process group.
      process.kill(-sleepers.pid!, 'SIGKILL');
    }

    if (serviceBaseline) {
      const base = () => run$(serviceBaseline.file, serviceBaseline.args);
      progress('services list: uncached read and the listing command, paired');
      const [uncached, baseUncached] = await paired(10, listLinuxServices, base);
      progress('services list: API and the listing command, paired');
      const first = await listServices();
      const [apiSvc, baseApi] = await paired(ROUNDS, listServices, base);
      progress('services list: handler only and the listing command, paired');
      await local.services();
      const [handlerSvc, baseHandler] = await paired(ROUNDS, local.services, base);
      const count = first.services?.length ?? 0;
      rows.push(
        goalRow(
          `services list through the API (${count} services, from the agent's cache)`,
          apiSvc,
          `local ${serviceBaseline.label}`,
          baseApi,
          1.5,
          10,
          `ageMs in the answer (first: ${first.ageMs ?? '?'} ms)`,
        ),
        infoRow(
          `services list, agent handler only (from the cache; no HTTP, no bus)`,
          handlerSvc,
          `local ${serviceBaseline.label}`,
          baseHandler,
          `API p50 minus handler p50 (the command path, measured apart): ${(p50(apiSvc) - p50(handlerSvc)).toFixed(1)} ms`,
        ),
        infoRow('services list read without the cache (what a refresh costs the agent)', uncached, `local ${serviceBaseline.label}`, baseUncached, 'runs in the background while the list is in use'),
      );
    } else {
      progress('no service manager on this host: services rows skipped');
    }
    return rows;
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
