/**
 * Install, uninstall and status on Linux: the binary in /usr/local/bin, credentials and settings in
 * /etc/guruconnect (0700 directory, 0600 files, root), state in /var/lib/guruconnect (0700), and a
 * systemd unit with Restart=always, enabled and started.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { chosenNatsUrl, enroll } from './enroll.js';
import { renderEnvFile } from './env-file.js';
import type { InstallArgs } from './install-args.js';
import { readConnectionState } from './connection-state.js';
import { renderSystemdUnit } from './systemd-unit.js';

const LINUX_PATHS = {
  binary: '/usr/local/bin/guruconnect-agent',
  configDir: '/etc/guruconnect',
  configFile: '/etc/guruconnect/agent.env',
  credsFile: '/etc/guruconnect/agent.creds',
  caFile: '/etc/guruconnect/nats-ca.pem',
  stateDir: '/var/lib/guruconnect',
  unitName: 'guruconnect-agent.service',
  unitFile: '/etc/systemd/system/guruconnect-agent.service',
} as const;

type Out = (line: string) => void;

const systemctl = (...args: string[]) => execFileSync('systemctl', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/** Writes `text` to `file` with `mode` through a temporary file (never a half-written credential). */
function writePrivate(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp`;
  // A leftover temporary file would keep its own mode: writeFileSync applies `mode` only when creating.
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode, flag: 'wx' });
  renameSync(tmp, file);
}

/** Installs and starts the service; returns the exit code. `--dry-run` prints what would be written. */
export async function installLinux(args: InstallArgs, out: Out, isBinary: boolean): Promise<number> {
  const unit = renderSystemdUnit({ binary: LINUX_PATHS.binary, configFile: LINUX_PATHS.configFile });
  if (args.dryRun) {
    out(`# would enroll ${args.agentId} at ${new URL('/api/agents/enroll', args.server).href}`);
    out(`# would write ${LINUX_PATHS.credsFile} (0600) and ${LINUX_PATHS.configFile} (0600), state in ${LINUX_PATHS.stateDir} (0700)`);
    out(`# would copy this binary to ${LINUX_PATHS.binary}`);
    out(`# ${LINUX_PATHS.unitFile}:`);
    out(unit);
    return 0;
  }
  if (process.getuid?.() !== 0) return fail(out, 'install needs root (sudo)');
  if (!isBinary) return fail(out, 'install runs from the single-file binary (npm run build:agent), not from source');
  const enrolled = await enroll(args, hostname());
  if (!enrolled.ok) return fail(out, `enrollment refused: ${enrolled.code}: ${enrolled.message}`);
  // mkdir keeps the mode of a directory that already exists: set it either way.
  for (const d of [LINUX_PATHS.configDir, LINUX_PATHS.stateDir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
  writePrivate(LINUX_PATHS.credsFile, enrolled.value.creds, 0o600);
  if (enrolled.value.nats_ca) writePrivate(LINUX_PATHS.caFile, enrolled.value.nats_ca, 0o600);
  const env = {
    NATS_URL: chosenNatsUrl(args, enrolled.value),
    GC_AGENT_ID: args.agentId,
    GC_AGENT_CREDS: LINUX_PATHS.credsFile,
    GC_AGENT_STATE_DIR: LINUX_PATHS.stateDir,
    ...(enrolled.value.nats_ca ? { GC_NATS_CA: LINUX_PATHS.caFile } : {}),
  };
  writePrivate(LINUX_PATHS.configFile, renderEnvFile(env), 0o600);
  if (process.execPath !== LINUX_PATHS.binary) {
    mkdirSync(dirname(LINUX_PATHS.binary), { recursive: true });
    copyFileSync(process.execPath, `${LINUX_PATHS.binary}.tmp`);
    execFileSync('chmod', ['0755', `${LINUX_PATHS.binary}.tmp`]);
    renameSync(`${LINUX_PATHS.binary}.tmp`, LINUX_PATHS.binary);
  }
  writePrivate(LINUX_PATHS.unitFile, unit, 0o644);
  try {
    systemctl('daemon-reload');
    systemctl('enable', '--now', LINUX_PATHS.unitName);
  } catch (e) {
    return fail(out, `enrolled and written, but systemd did not start the unit: ${(e as Error).message}`);
  }
  out(`installed: ${args.agentId} enrolled, ${LINUX_PATHS.unitName} enabled and started`);
  return 0;
}

/** Stops and removes the service, the binary copy and (unless kept) credentials and state. */
export function uninstallLinux(keepCredentials: boolean, out: Out): number {
  if (process.getuid?.() !== 0) return fail(out, 'uninstall needs root (sudo)');
  try {
    systemctl('disable', '--now', LINUX_PATHS.unitName);
  } catch {}
  rmSync(LINUX_PATHS.unitFile, { force: true });
  try {
    systemctl('daemon-reload');
  } catch {}
  rmSync(LINUX_PATHS.binary, { force: true });
  if (!keepCredentials) {
    rmSync(LINUX_PATHS.configDir, { recursive: true, force: true });
    rmSync(LINUX_PATHS.stateDir, { recursive: true, force: true });
  }
  out(`uninstalled${keepCredentials ? ` (credentials kept in ${LINUX_PATHS.configDir})` : ''}`);
  return 0;
}

/** Prints the unit's state and the agent's last connection state; exit 0 when active and connected. */
export function statusLinux(out: Out): number {
  let active = 'not installed';
  if (existsSync(LINUX_PATHS.unitFile)) {
    try {
      active = systemctl('is-active', LINUX_PATHS.unitName).trim();
    } catch (e) {
      active = String((e as { stdout?: string }).stdout ?? 'unknown').trim() || 'unknown';
    }
  }
  out(`service: ${active}`);
  const conn = readConnectionState(LINUX_PATHS.stateDir);
  out(`connection: ${conn.text}`);
  return active === 'active' && conn.connected ? 0 : 3;
}

function fail(out: Out, message: string): number {
  out(`error: ${message}`);
  return 1;
}
