/**
 * Install, uninstall and status on Windows: the binary in %ProgramFiles%\GuruConnect, credentials,
 * settings, state and log in %ProgramData%\GuruConnect under a protected DACL (SYSTEM and
 * Administrators only), and the service GuruConnectAgent (LocalSystem, automatic, restart on failure).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { commandLine } from '../platform/windows/helper-command-line.js';
import { SERVICE_NAME } from '../platform/windows/service-dispatcher.js';
import {
  ERROR_SERVICE_DOES_NOT_EXIST,
  ERROR_SERVICE_EXISTS,
  createAgentService,
  deleteAgentService,
  protectPath,
  queryServiceState,
  startAgentService,
  stopAgentService,
} from '../platform/windows/service-install.js';
import { readConnectionState } from './connection-state.js';
import { chosenNatsUrl, enroll } from './enroll.js';
import { renderEnvFile } from './env-file.js';
import type { InstallArgs } from './install-args.js';

type Out = (line: string) => void;

/** The installed layout (ProgramData / ProgramFiles from the environment, as Windows sets them). */
function windowsPaths(env: NodeJS.ProcessEnv = process.env) {
  const data = join(env.ProgramData || 'C:\\ProgramData', 'GuruConnect');
  const programDir = join(env.ProgramFiles || 'C:\\Program Files', 'GuruConnect');
  return {
    dataDir: data,
    configFile: join(data, 'agent.env'),
    credsFile: join(data, 'agent.creds'),
    caFile: join(data, 'nats-ca.pem'),
    stateDir: join(data, 'state'),
    programDir,
    binary: join(programDir, 'guruconnect-agent.exe'),
  };
}

const STATE_NAMES: Record<number, string> = { 1: 'stopped', 2: 'start pending', 3: 'stop pending', 4: 'running', 5: 'continue pending', 6: 'pause pending', 7: 'paused' };

function fail(out: Out, message: string): number {
  out(`error: ${message}`);
  return 1;
}

/** Enrolls, writes the protected files, copies the binary, registers and starts the service. */
export async function installWindows(args: InstallArgs, out: Out, isBinary: boolean): Promise<number> {
  const p = windowsPaths();
  const cmd = commandLine(p.binary, ['service', '--config', p.configFile]);
  if (args.dryRun) {
    out(`# would enroll ${args.agentId} at ${new URL('/api/agents/enroll', args.server).href}`);
    out(`# would write ${p.credsFile} and ${p.configFile} in ${p.dataDir} (DACL ${'SYSTEM'} and Administrators only)`);
    out(`# would copy this binary to ${p.binary}`);
    out(`# would create the service ${SERVICE_NAME} (LocalSystem, automatic start, restart on failure): ${cmd}`);
    return 0;
  }
  if (!isBinary) return fail(out, 'install runs from the single-file binary (npm run build:agent), not from source');
  const existing = queryServiceState(SERVICE_NAME);
  if (existing.ok) return fail(out, `the service ${SERVICE_NAME} is already installed (guruconnect-agent uninstall first)`);
  const enrolled = await enroll(args, hostname());
  if (!enrolled.ok) return fail(out, `enrollment refused: ${enrolled.code}: ${enrolled.message}`);
  // A directory made earlier by someone else keeps its owner, and an owner may always rewrite the
  // DACL: start from a directory this (elevated) process creates. The DACL goes on it before any
  // secret is written into it; files inherit it.
  rmSync(p.dataDir, { recursive: true, force: true });
  mkdirSync(p.dataDir, { recursive: true });
  const protectedDir = protectPath(p.dataDir);
  if (!protectedDir.ok) return fail(out, `cannot protect ${p.dataDir}: ${protectedDir.message}`);
  mkdirSync(p.stateDir, { recursive: true });
  if (enrolled.value.nats_ca) writeFileSync(p.caFile, enrolled.value.nats_ca);
  const env = {
    NATS_URL: chosenNatsUrl(args, enrolled.value),
    GC_AGENT_ID: args.agentId,
    GC_AGENT_CREDS: p.credsFile,
    GC_AGENT_STATE_DIR: p.stateDir,
    ...(enrolled.value.nats_ca ? { GC_NATS_CA: p.caFile } : {}),
  };
  writeFileSync(`${p.credsFile}.tmp`, enrolled.value.creds);
  renameSync(`${p.credsFile}.tmp`, p.credsFile);
  writeFileSync(p.configFile, renderEnvFile(env));
  if (process.execPath.toLowerCase() !== p.binary.toLowerCase()) {
    mkdirSync(p.programDir, { recursive: true });
    copyFileSync(process.execPath, p.binary);
  }
  const created = createAgentService(SERVICE_NAME, 'GuruConnect Agent', cmd, 'Lets GuruConnect technicians see and support this machine.');
  if (!created.ok) return fail(out, created.code === ERROR_SERVICE_EXISTS ? `the service ${SERVICE_NAME} already exists` : created.message);
  for (const w of created.value) out(`warning: ${w}`);
  const started = await startAgentService(SERVICE_NAME);
  if (!started.ok) return fail(out, `installed, but the service did not start: ${started.message}`);
  out(`installed: ${args.agentId} enrolled, service ${SERVICE_NAME} running`);
  return 0;
}

/** Stops and deletes the service and, unless kept, the credentials, settings and state. */
export async function uninstallWindows(keepCredentials: boolean, out: Out): Promise<number> {
  const p = windowsPaths();
  const q = queryServiceState(SERVICE_NAME);
  if (q.ok) {
    const stopped = await stopAgentService(SERVICE_NAME);
    if (!stopped.ok) out(`warning: ${stopped.message}`);
    const deleted = deleteAgentService(SERVICE_NAME);
    if (!deleted.ok) return fail(out, deleted.message);
  } else if (q.code !== ERROR_SERVICE_DOES_NOT_EXIST) {
    return fail(out, q.message);
  }
  if (!keepCredentials) rmSync(p.dataDir, { recursive: true, force: true });
  // The running copy cannot delete itself on Windows; another copy (the download) removes it.
  if (process.execPath.toLowerCase() !== p.binary.toLowerCase()) rmSync(p.programDir, { recursive: true, force: true });
  out(`uninstalled${keepCredentials ? ` (credentials kept in ${p.dataDir})` : ''}`);
  return 0;
}

/** Prints the service state and the agent's connection; exit 0 when running and connected. */
export function statusWindows(out: Out): number {
  const p = windowsPaths();
  const q = queryServiceState(SERVICE_NAME);
  const state = q.ok ? (STATE_NAMES[q.value.state] ?? String(q.value.state)) : q.code === ERROR_SERVICE_DOES_NOT_EXIST ? 'not installed' : q.message;
  out(`service: ${state}`);
  const conn = existsSync(p.stateDir) ? readConnectionState(p.stateDir) : { connected: false, text: 'unknown (no state directory)' };
  out(`connection: ${conn.text}`);
  return q.ok && q.value.state === 4 && conn.connected ? 0 : 3;
}
