/**
 * Profiles the Node side of the machines catch-up alone: 100k bench events (projection.bench.ts's
 * mix), then `rounds` fresh workers catching up, each timed with the worker's and Postgres' CPU; the
 * last round is recorded as a CPU profile (or, with HEAP=1, an allocation profile) for DevTools.
 * BATCH=<n> sets the worker's batch size. Not a benchmark (no baseline): run it under the bench lock.
 *   node --import tsx test/bench/catch-up-profile.ts /tmp/catch-up.cpuprofile 5
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { sql } from 'kysely';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import { machinesProjection } from '../../projections/machines.projection.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import { startTestNats, startTestPostgres } from '../support/servers.js';
import { agentEvent, publishMany } from './projection.bench.js';
import { pgCpuMeter } from './pg-cpu.js';

const EVENTS = 100_000;
const out = process.argv[2] ?? 'catch-up.cpuprofile';
const rounds = Number(process.argv[3] ?? 3);
const [nats, pgs] = await Promise.all([startTestNats(), startTestPostgres()]);
const nc = await connectBus({ servers: nats.url, name: 'prof' });
await ensureStreams(await jetstreamManager(nc));
const db = openDb({ url: pgs.url, max: 4 });
await migrateToLatest(db);
const events = Array.from({ length: EVENTS }, (_, i) => agentEvent(i));
const last = await publishMany(
  jetstream(nc),
  EVENTS,
  (i) => events[i]!,
  () => {},
);
const jsm = await jetstreamManager(nc);
const cpu = (await pgCpuMeter(db))!;
const s = new Session();
s.connect();
await s.post('Profiler.enable');
await s.post('Profiler.setSamplingInterval', { interval: 200 });
const walls: number[] = [];
const cpus: number[] = [];
for (let round = 1; round <= rounds; round++) {
  await sql`truncate machines, machines_search_users`.execute(db);
  await db.deleteFrom('projection_checkpoints').execute();
  await jsm.consumers.delete('GC_EVENTS', 'machines').catch(() => {});
  if (round === rounds)
    await s.post(
      process.env.HEAP ? 'HeapProfiler.startSampling' : 'Profiler.start',
      process.env.HEAP ? { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } : undefined,
    );
  const c0 = cpu();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  const w = await startProjection(machinesProjection, { nc, db, ...(process.env.BATCH ? { batchSize: Number(process.env.BATCH) } : {}) });
  if (!(await w.caughtUp(last, 170_000))) throw new Error('no catch-up');
  const ms = performance.now() - t0;
  const u = process.cpuUsage(u0);
  await w.stop();
  walls.push(ms);
  cpus.push((u.user + u.system) / 1000);
  console.log(
    `round ${round}: ${Math.round((EVENTS * 1000) / ms)} events/s, ${ms.toFixed(0)} ms wall, node cpu ${((u.user + u.system) / 1000).toFixed(0)} ms, pg cpu ${cpu() - c0} ms, stats ${JSON.stringify(w.stats())}`,
  );
  if (round === rounds) {
    const { profile } = (await s.post((process.env.HEAP ? 'HeapProfiler.stopSampling' : 'Profiler.stop') as 'Profiler.stop')) as { profile: unknown };
    writeFileSync(out, JSON.stringify(profile));
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(
  `summary: best ${Math.round((EVENTS * 1000) / Math.min(...walls))} events/s, median ${Math.round((EVENTS * 1000) / med(walls))} events/s; node cpu median ${med(cpus).toFixed(0)} ms, min ${Math.min(...cpus).toFixed(0)} ms`,
);
await db.destroy();
await nc.close();
await Promise.all([nats.stop(), pgs.stop()]);
