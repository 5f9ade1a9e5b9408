/**
 * `npm start`: the whole system on this machine, and the dashboard URL. Ctrl-C stops everything.
 * Environment: PORT (default 8080), GC_DATA_DIR (default ./data), DATABASE_URL (optional), GC_HTTPS=1
 * (HTTPS with a generated self-signed certificate) or GC_HTTPS_CERT/GC_HTTPS_KEY (your certificate).
 * `npm start -- --cluster` (or GC_NATS_CLUSTER=1) runs three nats-servers in a cluster with the event
 * stream at 3 replicas, as production does (docs/RELIABILITY.md). `--demo` adds two desktops of two
 * demo users (Xvfb) for a headless machine, so the live view and switching can be tried at once.
 * The gateway and the projections run inside this process (GC_SERVER_PROCESSES=launcher, the
 * default), in one process of their own (shared) or each in its own (separate, as scaled out); the
 * services run as built JavaScript unless GC_SERVICES_FROM_SOURCE=1 (tsx, as before: for debugging).
 */
import { resolve } from 'node:path';
import { type DemoDesktops, startDemoDesktops } from './demo-desktops.js';
import { logLocations, startStack } from './stack.js';

const dataDir = resolve(process.env.GC_DATA_DIR ?? 'data');
const port = Number(process.env.PORT ?? 8080);
const cluster = process.argv.includes('--cluster') || process.env.GC_NATS_CLUSTER === '1';
// Event stream retention: GC_EVENT_RETENTION_DAYS (default 0 = keep forever; auditors replay it).
const eventRetentionDays = Number(process.env.GC_EVENT_RETENTION_DAYS ?? 0);
if (!Number.isFinite(eventRetentionDays) || eventRetentionDays < 0) {
  console.error('[guruconnect] GC_EVENT_RETENTION_DAYS must be a number of days >= 0 (0 keeps events forever)');
  process.exit(2);
}
const serverProcesses = process.env.GC_SERVER_PROCESSES || 'launcher';
if (serverProcesses !== 'launcher' && serverProcesses !== 'shared' && serverProcesses !== 'separate') {
  console.error('[guruconnect] GC_SERVER_PROCESSES must be launcher (gateway and projections in the launcher process, the default), shared (in one process of their own) or separate');
  process.exit(2);
}
const runtime = process.env.GC_SERVICES_FROM_SOURCE === '1' ? 'source' : 'built';
const started = Date.now();
const say = (line: string) => console.log(`[guruconnect] ${line}`);

let demo: DemoDesktops | undefined;
if (process.argv.includes('--demo')) {
  demo = await startDemoDesktops().catch((e: Error) => {
    console.error(`[guruconnect] --demo: ${e.message}`);
    process.exit(1);
  });
  say(`demo desktops of gc-demo-alice and gc-demo-bob on ${demo.names.join(' and ')}`);
}

say(`data directory ${dataDir}`);
const stack = await startStack({ dataDir, port, databaseUrl: process.env.DATABASE_URL || undefined, cluster, eventRetentionDays, serverProcesses, runtime, agentV8Footprint: true, log: say }).catch(
  async (e: Error) => {
    console.error(`[guruconnect] start failed: ${e.message}`);
    await demo?.stop();
    process.exit(1);
  },
);

say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
say(`services: nats ${stack.natsUrls.join(', ')}, postgres ${stack.databaseUrl.replace(/\/\/[^@]*@/, '//')}, agent ${stack.agentId ?? '(none)'}`);
say(`logs:\n${logLocations(dataDir)}`);
say(`NATS speaks TLS only; clients verify it against ${stack.natsCa}`);
console.log('');
console.log(`  Dashboard: ${stack.url}/`);
console.log(`  API docs:  ${stack.url}/api/docs`);
if (stack.httpsNote) console.log(`  Note: ${stack.httpsNote}`);
if (stack.admin.password) console.log(`  Sign in as: admin / ${stack.admin.password}   (kept in ${dataDir}/admin-password)`);
console.log('');
say('press Ctrl-C to stop');

let stopping = false;
const stop = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await stack.stop();
  await demo?.stop();
  say('stopped');
  process.exit(code);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
// The gateway and the projections may run in this process: a crash there must not leave nats-server,
// PostgreSQL and the agent running without them. Stop everything, loudly.
process.on('uncaughtException', (e) => {
  console.error(`[guruconnect] crashed: ${e.stack ?? e.message}`);
  void stop(1);
});
