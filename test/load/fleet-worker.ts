/**
 * One process of the simulated fleet (started by test/load/fleet.ts): runs the simulated agents it
 * is given, each with its own TLS connection and its own credentials, and does what the simulator
 * asks over IPC. Several of these use both cores for the agents' side of 10,000 connections.
 */
import type { FleetAgentReport, FromWorker, ToWorker } from './fleet-protocol.js';
import { type SimAgent, simAgentTlsContext, startSimAgent } from './sim-agent.js';

const send = (m: FromWorker) => process.send?.(m);
const agents = new Map<string, SimAgent>();
let config: Extract<ToWorker, { t: 'config' }> | undefined;
let tlsContext: ReturnType<typeof simAgentTlsContext> | undefined;
// Agents wait here for a connection slot: a pool, so a batch never waits for its slowest member.
const queue: Extract<ToWorker, { t: 'start' }>['agents'] = [];
let running = 0;

const pump = () => {
  if (!config) return;
  while (running < config.connectConcurrency && queue.length) {
    const a = queue.shift()!;
    running++;
    startSimAgent({ agentId: a.agentId, servers: config.servers, caFile: config.caFile, tlsContext, creds: a.creds, heartbeatMs: config.heartbeatMs, sessions: a.sessions })
      .then((sim) => {
        agents.set(a.agentId, sim);
        send({ t: 'started', agentIds: [a.agentId] });
      })
      .catch((e: Error) => send({ t: 'startFailed', agentId: a.agentId, message: e.message }))
      .finally(() => {
        running--;
        pump();
      });
  }
};

const reports = (): FleetAgentReport[] => [...agents.values()].map((a) => ({ agentId: a.agentId, lastMachineSeq: a.lastMachineSeq, stats: { ...a.stats } }));

process.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'config':
      config = m;
      tlsContext = m.caFile ? simAgentTlsContext(m.caFile) : undefined;
      return send({ t: 'ready' });
    case 'start':
      queue.push(...m.agents);
      pump();
      return;
    case 'setSessions': {
      const a = agents.get(m.agentId);
      if (!a) return send({ t: 'reply', rid: m.rid, error: `no simulated agent ${m.agentId} here` });
      a.setSessions(m.sessions).then(
        (seq) => send({ t: 'reply', rid: m.rid, seq }),
        (e: Error) => send({ t: 'reply', rid: m.rid, error: e.message }),
      );
      return;
    }
    case 'stopHeartbeats':
      for (const a of agents.values()) a.stopHeartbeats();
      return send({ t: 'reply', rid: m.rid });
    case 'report':
      return send({ t: 'reply', rid: m.rid, reports: reports() });
    case 'close':
      void Promise.all([...agents.values()].map((a) => a.close())).then(() => {
        send({ t: 'reply', rid: m.rid });
        process.disconnect?.();
      });
      return;
  }
});
// The simulator went away without closing us: nothing left to simulate for.
process.on('disconnect', () => process.exit(0));
