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
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { eventually, login } from '../support/api.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';
import { answerStoredAfterMs, hopRecorder, timedCall } from './command-hops.js';
import { startFloor } from './floor/start-floor.js';
import { latency, p50, timeEach } from './stats.js';
import type { BenchRun } from './types.js';
import { openBenchViewer } from './viewer-switch.js';

const run$ = promisify(execFile);

/** The pause before each switch of the one-at-a-time run: longer than the projections' batch wait (10 ms) and their commit. */
const PAUSE_MS = 50;
/** Milliseconds to the microsecond, for the machine-readable figures. */
const ms = (n: number) => Math.round(n * 1000) / 1000;

export const run: BenchRun = async (progress) => {
  const displays = await startUserDisplays(['gc-alice', 'gc-bob'], { colors: ['#ff0000', '#0000ff'] });
  const dir = mkdtempSync(join(tmpdir(), 'gc-bench-cmd-'));
  const agentId = 'bench-agent';
  // GC_SERVER_TIMING: command replies carry their hops (Server-Timing), and their answers the agent's stamps.
  // GC_VIEWER_CONTROL_PER_SEC: back-to-back switches over one socket come about 200 a second, past
  // the default cap a page gets (50, ws/control-budget.ts); the rows time the switch, not the cap.
  const stack = await startStack({ dataDir: dir, port: 0, agentId, fastPostgres: true, env: { GC_SERVER_TIMING: '1', GC_VIEWER_CONTROL_PER_SEC: '1000' } });
  const gatewayUpMs = Date.now();
  try {
    const api = await login(stack.url, stack.admin.name, stack.admin.password);
    const sessions = await eventually(async () => {
      const r = await api.get<{ sessions: { id: number; station: string }[] }>(`/api/machines/${agentId}/windows-sessions`);
      const ids = displays.displays.map((d) => r.body.sessions?.find((s) => s.station === d.name)?.id);
      return ids.every((x) => x !== undefined) ? (ids as number[]) : undefined;
    }, 'both sessions in the read model');
    // Measured in the steady state, where the gateway hears the agent: the launcher starts the agent
    // beside the gateway, whose first heartbeat can go out before the gateway listens; until the next
    // one (as after any gateway restart) the checks ask the read model instead (about 1-2 ms more).
    progress('waiting for a heartbeat the gateway hears');
    await eventually(
      async () => (Date.parse((await api.get<{ last_seen: string }>(`/api/machines/${agentId}`)).body.last_seen) > gatewayUpMs ? true : undefined),
      'a heartbeat after the gateway was up',
      30_000,
    );

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
    // The same floor one at a time, as the paused switches below run: on this machine a hop after
    // 50 ms of quiet costs more than one in a busy loop (processes and cores wake from idle).
    const floorPaused: number[] = [];
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, PAUSE_MS));
      const got = new Promise<void>((r) => {
        answered = r;
      });
      const t = performance.now();
      await js.publish('bench.floor.cmd', payload);
      await got;
      floorPaused.push(performance.now() - t);
    }
    await jsm.streams.delete('BENCH_FLOOR');
    // Each run's stored answer is read back after the run (outside its timing): the stream's own
    // clock says when it stored the answer, the agent's stamp when it published it.
    const storedAfter = (kind: 'switched' | 'backstageOutput') => answerStoredAfterMs(jsm, Streams.events.name, subjects.agentEvent(agentId as AgentId, kind));

    // The HTTP floor: the same fastify with nothing of ours, in a process of its own, called by the
    // same client (global fetch) on loopback; what the transport hop costs beyond it is ours.
    progress('bare fastify POST round trip');
    const bare = await startFloor('bare-fastify.ts');
    const bareCalls: number[] = [];
    const dummyToken = 'x'.repeat(api.token.length);
    for (let i = 0; i < 300; i++) {
      const r = await timedCall(bare.url, dummyToken, 'POST', `/api/machines/${agentId}/switch-session`, { session_id: sessions[i % 2], viewer_id: 'bench-viewer' });
      if (r.status !== 200) throw new Error(`bare fastify answered ${r.status}`);
      bareCalls.push(r.clientMs);
    }
    bare.stop();

    // The WebSocket floor likewise: fastify and @fastify/websocket with nothing of ours, the same client.
    progress('bare WebSocket switch round trip');
    const bareWs = await startFloor('bare-websocket.ts');
    const bareViewer = await openBenchViewer(bareWs.url, agentId, dummyToken);
    const bareWsCalls: number[] = [];
    for (let i = 0; i < 300; i++) bareWsCalls.push((await bareViewer.switchTo(sessions[i % 2]!)).clientMs);
    bareViewer.close();
    bareWs.stop();

    progress('local spawn of sh -c "echo hi"');
    const local = await timeEach(100, () => run$('/bin/sh', ['-c', 'echo hi']));

    progress('backstage echo round trip through the API');
    const echo: number[] = [];
    const echoHops = hopRecorder('backstage `echo hi`');
    for (let i = 0; i < 100; i++) {
      const r = await timedCall(stack.url, api.token, 'POST', `/api/machines/${agentId}/backstage/exec`, { command: 'echo hi' });
      if (r.status !== 200 || (r.body as { stdout?: string }).stdout !== 'hi\n') throw new Error(`backstage echo failed: ${r.status} ${JSON.stringify(r.body)}`);
      echo.push(r.clientMs);
      echoHops.add(r, await storedAfter('backstageOutput'));
      if ((i + 1) % 20 === 0) progress(`  ${i + 1}/100`);
    }

    progress('switch round trip through the API');
    const switches: number[] = [];
    const switchHops = hopRecorder('switch-session');
    for (let i = 0; i < 60; i++) {
      const r = await timedCall(stack.url, api.token, 'POST', `/api/machines/${agentId}/switch-session`, { session_id: sessions[i % 2], viewer_id: 'bench-viewer' });
      if (r.status !== 200) throw new Error(`switch failed: ${r.status} ${JSON.stringify(r.body)}`);
      switches.push(r.clientMs);
      switchHops.add(r, await storedAfter('switched'));
    }

    // The same switches one at a time (a pause after each, as a technician clicks): what the figure
    // above carries of the previous command's aftermath (projection commits, Postgres) on 2 cores.
    progress('switch round trip through the API, 50 ms apart');
    const paused: number[] = [];
    const pausedHops = hopRecorder('switch-session, 50 ms apart');
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, PAUSE_MS));
      const r = await timedCall(stack.url, api.token, 'POST', `/api/machines/${agentId}/switch-session`, { session_id: sessions[i % 2], viewer_id: 'bench-viewer' });
      if (r.status !== 200) throw new Error(`switch failed: ${r.status} ${JSON.stringify(r.body)}`);
      paused.push(r.clientMs);
      pausedHops.add(r, await storedAfter('switched'));
    }

    // An operator's switch: the same route, plus the lookup of the operator's grant for the machine
    // (admins reach every machine by role). Alternated with the admin's, so both see the same load.
    progress('switch round trip through the API as an operator with a grant, alternating with the admin');
    const op = await api.post<{ user: { id: string }; generated_password: string }>('/api/users', { name: 'bench-operator', role: 'operator' });
    if (op.status !== 201 || (await api.post(`/api/users/${op.body.user.id}/grants`, { agent_id: agentId })).status !== 201) throw new Error(`could not create the operator: ${op.status}`);
    const operator = await login(stack.url, 'bench-operator', op.body.generated_password);
    const opSwitches: number[] = [];
    const adminAlternating: number[] = [];
    const opHops = hopRecorder('switch-session as an operator');
    const adminAltHops = hopRecorder('switch-session as the admin, alternating');
    for (let i = 0; i < 60; i++) {
      for (const [who, out, hops] of [
        [api, adminAlternating, adminAltHops],
        [operator, opSwitches, opHops],
      ] as const) {
        const r = await timedCall(stack.url, who.token, 'POST', `/api/machines/${agentId}/switch-session`, { session_id: sessions[i % 2], viewer_id: 'bench-viewer' });
        if (r.status !== 200) throw new Error(`switch failed: ${r.status} ${JSON.stringify(r.body)}`);
        out.push(r.clientMs);
        hops.add(r, await storedAfter('switched'));
      }
    }
    const grantLookup = p50(opHops.hop('checks')) - p50(adminAltHops.hop('checks'));

    // The technician's own door: the viewer socket, as the dashboard uses it (viewer-switch.ts), its
    // frames flowing and acknowledged as the page does; back to back, then one at a time.
    progress('switch round trip over the viewer socket');
    const viewer = await openBenchViewer(stack.url, agentId, api.token);
    const wsSwitches: number[] = [];
    const wsHops = hopRecorder('switch-session over the viewer socket', 'WebSocket');
    const wsPaused: number[] = [];
    const wsPausedHops = hopRecorder('switch-session over the viewer socket, 50 ms apart', 'WebSocket');
    for (const [out, hops, pauseMs] of [
      [wsSwitches, wsHops, 0],
      [wsPaused, wsPausedHops, PAUSE_MS],
    ] as const) {
      for (let i = 0; i < 60; i++) {
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
        const r = await viewer.switchTo(sessions.find((x) => x !== viewer.watching)!);
        out.push(r.clientMs);
        hops.add(r, await storedAfter('switched'));
      }
    }
    const viewerFrames = viewer.frames;
    viewer.close();

    await nc.close();
    await responder.close();
    return [
      {
        figure: 'backstage `echo hi` round trip (API -> agent -> API)',
        value: latency(echo),
        baseline: 'raw NATS request round trip',
        baselineValue: latency(raw),
        note: 'NATS over TLS throughout (cost per hop: tls bench)',
        measured: { value: ms(p50(echo)), unit: 'ms p50', baselineValue: ms(p50(raw)) },
      },
      {
        figure: 'backstage `echo hi` round trip (API -> agent -> API)',
        value: latency(echo),
        baseline: 'local spawn of sh -c "echo hi"',
        baselineValue: latency(local),
        measured: { value: ms(p50(echo)), unit: 'ms p50', baselineValue: ms(p50(local)) },
      },
      {
        figure: 'switch-session round trip (API -> agent switched -> API)',
        value: latency(switches),
        baseline: 'raw NATS request round trip',
        baselineValue: latency(raw),
        note: 'command stored in JetStream, answered through the stream',
        measured: { value: ms(p50(switches)), unit: 'ms p50', baselineValue: ms(p50(raw)) },
      },
      {
        figure: 'switch-session round trip (API -> agent switched -> API)',
        value: latency(switches),
        baseline: 'bare JetStream floor (publish-ack, delivery, answer publish-ack, delivery)',
        baselineValue: latency(floor),
        note: `${(p50(switches) / p50(floor)).toFixed(1)}x the floor at p50 (issue 18 goal: ≤ 3x)${p50(switches) <= 3 * p50(floor) ? '' : `; missed: the largest hops at p50 are ${switchHops.largest(4)} (rows below)`}`,
        measured: { value: ms(p50(switches)), unit: 'ms p50', baselineValue: ms(p50(floor)), goal: '≤ 3× floor', met: p50(switches) <= 3 * p50(floor) },
      },
      {
        figure: 'bare JetStream floor, 50 ms apart (as the paused switches run)',
        value: latency(floorPaused),
        baseline: 'bare JetStream floor back to back',
        baselineValue: latency(floor),
        note: `${(p50(floorPaused) / p50(floor)).toFixed(1)}x at p50: what 50 ms of quiet costs the same four hops on this machine (wake-ups), nothing of ours in it`,
        measured: { value: ms(p50(floorPaused)), unit: 'ms p50', baselineValue: ms(p50(floor)) },
      },
      {
        figure: 'switch-session hop: HTTP transport both ways (client round trip − time inside the gateway)',
        value: latency(switchHops.hop('transport')),
        baseline: 'bare fastify POST round trip (same fastify, own process, same client: global fetch, loopback; test/bench/floor/bare-fastify.ts)',
        baselineValue: latency(bareCalls),
        note: `${(p50(switchHops.hop('transport')) - p50(bareCalls)).toFixed(2)} ms over the bare round trip at p50 (the bare figure also holds fastify's own request handling, which the gateway's window excludes)`,
        measured: { value: ms(p50(switchHops.hop('transport'))), unit: 'ms p50', baselineValue: ms(p50(bareCalls)) },
      },
      {
        figure: 'switch-session round trip, 50 ms apart (API -> agent switched -> API)',
        value: latency(paused),
        baseline: 'bare JetStream floor (publish-ack, delivery, answer publish-ack, delivery)',
        baselineValue: latency(floor),
        note: `${(p50(paused) / p50(floor)).toFixed(1)}x the floor at p50 (${(p50(paused) / p50(floorPaused)).toFixed(1)}x the floor run 50 ms apart, ${p50(floorPaused).toFixed(2)} ms); back to back (above) ${(p50(switches) - p50(paused)).toFixed(2)} ms slower at p50 (the previous command's aftermath); largest hops at p50: ${pausedHops.largest(4)}`,
        measured: { value: ms(p50(paused)), unit: 'ms p50', baselineValue: ms(p50(floor)) },
      },
      {
        figure: 'switch-session round trip over the viewer socket ({t:"switch"} sent -> {t:"switched"} received)',
        value: latency(wsSwitches),
        baseline: 'bare JetStream floor (publish-ack, delivery, answer publish-ack, delivery)',
        baselineValue: latency(floor),
        note: `${(p50(wsSwitches) / p50(floor)).toFixed(1)}x the floor at p50 (issue 18 goal: ≤ 3x)${p50(wsSwitches) <= 3 * p50(floor) ? '' : `; missed: the largest hops at p50 are ${wsHops.largest(4)} (rows below)`}; the dashboard's messages, ${viewerFrames} frames received and acknowledged meanwhile; the bench's gateway acts on 1000 control messages a second per socket (a page gets 50: GC_VIEWER_CONTROL_PER_SEC)`,
        measured: { value: ms(p50(wsSwitches)), unit: 'ms p50', baselineValue: ms(p50(floor)), goal: '≤ 3× floor', met: p50(wsSwitches) <= 3 * p50(floor) },
      },
      {
        figure: 'switch-session over the viewer socket hop: WebSocket transport both ways (client round trip − time inside the gateway)',
        value: latency(wsHops.hop('transport')),
        baseline: 'bare WebSocket switch round trip (same fastify and @fastify/websocket, own process, same client: ws, loopback; test/bench/floor/bare-websocket.ts)',
        baselineValue: latency(bareWsCalls),
        note: `${(p50(wsHops.hop('transport')) - p50(bareWsCalls)).toFixed(2)} ms over the bare round trip at p50`,
        measured: { value: ms(p50(wsHops.hop('transport'))), unit: 'ms p50', baselineValue: ms(p50(bareWsCalls)) },
      },
      {
        figure: 'switch-session round trip over the viewer socket, 50 ms apart',
        value: latency(wsPaused),
        baseline: 'bare JetStream floor (publish-ack, delivery, answer publish-ack, delivery)',
        baselineValue: latency(floor),
        note: `${(p50(wsPaused) / p50(floor)).toFixed(1)}x the floor at p50 (${(p50(wsPaused) / p50(floorPaused)).toFixed(1)}x the floor run 50 ms apart, ${p50(floorPaused).toFixed(2)} ms); back to back (above) ${(p50(wsSwitches) - p50(wsPaused)).toFixed(2)} ms slower at p50; largest hops at p50: ${wsPausedHops.largest(4)}`,
        measured: { value: ms(p50(wsPaused)), unit: 'ms p50', baselineValue: ms(p50(floor)) },
      },
      {
        figure: 'switch-session round trip as an operator with a grant (API -> agent switched -> API)',
        value: latency(opSwitches),
        baseline: 'the same switch as the admin, alternating with the operator (same runs)',
        baselineValue: latency(adminAlternating),
        note: `route checks (the operator's grant lookup, services/gateway/access.ts) p50 ${p50(opHops.hop('checks')).toFixed(3)} ms against the admin's ${p50(adminAltHops.hop('checks')).toFixed(3)} ms: the lookup costs ${grantLookup.toFixed(3)} ms at p50; ${(p50(opSwitches) / p50(floor)).toFixed(1)}x the floor`,
        measured: { value: ms(p50(opSwitches)), unit: 'ms p50', baselineValue: ms(p50(adminAlternating)) },
      },
      {
        figure: "switch-session as an operator hop: route checks with the operator's grant lookup",
        value: latency(opHops.hop('checks')),
        baseline: 'the same hop as the admin (no lookup), alternating',
        baselineValue: latency(adminAltHops.hop('checks')),
        note: `${grantLookup.toFixed(3)} ms more at p50`,
        measured: { value: ms(p50(opHops.hop('checks'))), unit: 'ms p50', baselineValue: ms(p50(adminAltHops.hop('checks'))) },
      },
      // Where each command's time goes (Server-Timing, the agent's stamps, the stream's clock).
      ...switchHops.rows(),
      ...wsHops.rows(),
      ...wsPausedHops.rows(),
      ...echoHops.rows(),
      {
        figure: 'backstage `echo hi` round trip minus a local spawn (p50)',
        value: `${(p50(echo) - p50(local)).toFixed(2)} ms`,
        baseline: 'bare JetStream floor (p50)',
        baselineValue: `${p50(floor).toFixed(2)} ms`,
        note: `${((p50(echo) - p50(local)) / p50(floor)).toFixed(1)}x the floor (issue 18 goal: ≤ 3x)${p50(echo) - p50(local) <= 3 * p50(floor) ? '' : `; missed: the largest hops at p50 are ${echoHops.largest(4)} (the handler includes the spawn)`}`,
        measured: { value: ms(p50(echo) - p50(local)), unit: 'ms p50', baselineValue: ms(p50(floor)), goal: '≤ 3× floor', met: p50(echo) - p50(local) <= 3 * p50(floor) },
      },
    ];
  } finally {
    await stack.stop();
    await displays.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
