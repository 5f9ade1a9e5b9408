/**
 * Command paths through the real stack: backstage `echo` round trip (API -> gateway -> JetStream ->
 * agent -> shell -> output -> gateway -> API) and switch round trip, each beside a raw NATS request
 * round trip and a local spawn measured in the same run (process and services lists:
 * backstage-lists.bench.ts). The stack's NATS is TLS (always): these figures include encryption;
 * tls.bench.ts measures its cost per hop.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectBus } from '../../proto/bus/connect.js';
import { startStack } from '../../infra/launcher/stack.js';
import { eventually, login } from '../support/api.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';
import { latency, p50, timeEach } from './stats.js';
import type { BenchRun } from './types.js';

const run$ = promisify(execFile);

export const run: BenchRun = async (progress) => {
  const displays = await startUserDisplays(['gc-alice', 'gc-bob'], { colors: ['#ff0000', '#0000ff'] });
  const dir = mkdtempSync(join(tmpdir(), 'gc-bench-cmd-'));
  const agentId = 'bench-agent';
  const stack = await startStack({ dataDir: dir, port: 0, agentId, fastPostgres: true });
  try {
    const api = await login(stack.url, stack.admin.name, stack.admin.password);
    const sessions = await eventually(async () => {
      const r = await api.get<{ sessions: { id: number; station: string }[] }>(`/api/machines/${agentId}/windows-sessions`);
      const ids = displays.displays.map((d) => r.body.sessions?.find((s) => s.station === d.name)?.id);
      return ids.every((x) => x !== undefined) ? (ids as number[]) : undefined;
    }, 'both sessions in the read model');

    progress('raw NATS request round trip');
    const nc = await connectBus({ servers: stack.natsUrl, name: 'bench', credsFile: await stack.credsFor('launcher'), caFile: stack.natsCa });
    const responder = await connectBus({ servers: stack.natsUrl, name: 'bench-responder', credsFile: await stack.credsFor('launcher'), caFile: stack.natsCa });
    responder.subscribe('bench.echo', {
      callback: (_e, m) => {
        m.respond(m.data);
      },
    });
    await responder.flush();
    const payload = new TextEncoder().encode('hi');
    const raw = await timeEach(500, () => nc.request('bench.echo', payload, { timeout: 2000 }));

    // The honest floor of a stored command: the same hops with bare JetStream calls and nothing of
    // ours. A publish the stream acknowledges, live delivery to a subscriber (as the agent hears
    // commands), an answer published with its own acknowledgement, delivered back (as the gateway
    // hears answers). In a stream of its own, file storage like GC_EVENTS.
    progress('bare JetStream floor: publish-ack, delivery, answer publish-ack, delivery');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'BENCH_FLOOR', subjects: ['bench.floor.>'], storage: StorageType.File });
    const js = jetstream(nc);
    const rjs = jetstream(responder);
    responder.subscribe('bench.floor.cmd', {
      callback: (_e, m) => {
        void rjs.publish('bench.floor.ans', m.data);
      },
    });
    await responder.flush();
    let answered: (() => void) | undefined;
    nc.subscribe('bench.floor.ans', { callback: () => answered?.() });
    await nc.flush();
    const floor = await timeEach(300, async () => {
      const got = new Promise<void>((r) => {
        answered = r;
      });
      await js.publish('bench.floor.cmd', payload);
      await got;
    });
    await jsm.streams.delete('BENCH_FLOOR');

    progress('local spawn of sh -c "echo hi"');
    const local = await timeEach(100, () => run$('/bin/sh', ['-c', 'echo hi']));

    progress('backstage echo round trip through the API');
    const echo = await timeEach(
      100,
      async () => {
        const r = await api.post<{ stdout: string }>(`/api/machines/${agentId}/backstage/exec`, { command: 'echo hi' });
        if (r.status !== 200 || r.body.stdout !== 'hi\n') throw new Error(`backstage echo failed: ${r.status} ${JSON.stringify(r.body)}`);
      },
      (i) => progress(`  ${i}/100`),
    );

    progress('switch round trip through the API');
    const switches = await timeEach(60, async (i) => {
      const r = await api.post(`/api/machines/${agentId}/switch-session`, { session_id: sessions[i % 2], viewer_id: 'bench-viewer' });
      if (r.status !== 200) throw new Error(`switch failed: ${r.status} ${JSON.stringify(r.body)}`);
    });

    await nc.close();
    await responder.close();
    return [
      {
        figure: 'backstage `echo hi` round trip (API -> agent -> API)',
        value: latency(echo),
        baseline: 'raw NATS request round trip',
        baselineValue: latency(raw),
        note: 'NATS over TLS throughout (cost per hop: tls bench)',
      },
      { figure: 'backstage `echo hi` round trip (API -> agent -> API)', value: latency(echo), baseline: 'local spawn of sh -c "echo hi"', baselineValue: latency(local) },
      {
        figure: 'switch-session round trip (API -> agent switched -> API)',
        value: latency(switches),
        baseline: 'raw NATS request round trip',
        baselineValue: latency(raw),
        note: 'command stored in JetStream, answered through the stream',
      },
      {
        figure: 'switch-session round trip (API -> agent switched -> API)',
        value: latency(switches),
        baseline: 'bare JetStream floor (publish-ack, delivery, answer publish-ack, delivery)',
        baselineValue: latency(floor),
        note: `${(p50(switches) / p50(floor)).toFixed(1)}x the floor at p50 (issue 18 goal: ≤ 3x)`,
      },
      {
        figure: 'backstage `echo hi` round trip minus a local spawn (p50)',
        value: `${(p50(echo) - p50(local)).toFixed(2)} ms`,
        baseline: 'bare JetStream floor (p50)',
        baselineValue: `${p50(floor).toFixed(2)} ms`,
        note: `${((p50(echo) - p50(local)) / p50(floor)).toFixed(1)}x the floor (issue 18 goal: ≤ 3x)`,
      },
    ];
  } finally {
    await stack.stop();
    await displays.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
