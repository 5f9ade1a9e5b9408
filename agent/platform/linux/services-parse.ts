/** Pure parsers for service-manager output (systemd JSON, SysV `service --status-all`). */
import { guruconnect } from '../../../proto/generated/guruconnect.js';

type ServiceInfo = guruconnect.ServiceInfo.$Properties;
const { ServiceStatus } = guruconnect;

interface SystemdUnit {
  unit?: string;
  active?: string;
  sub?: string;
  description?: string;
}
interface SystemdUnitFile {
  unit_file?: string;
  state?: string;
}

function parseJsonArray<T>(text: string): T[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    return [];
  }
}

/** ActiveState -> our status; a oneshot that ran ("active/exited") counts as running. */
function systemdStatus(active: string | undefined): guruconnect.ServiceStatus {
  switch (active) {
    case 'active':
    case 'reloading':
      return ServiceStatus.SERVICE_RUNNING;
    case 'activating':
    case 'deactivating':
      return ServiceStatus.SERVICE_PENDING;
    default:
      return ServiceStatus.SERVICE_STOPPED;
  }
}

/** `MainPID` per unit from `systemctl show -p Id -p MainPID` output (blank-line separated blocks). */
export function parseSystemdShow(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const block of text.split(/\n\s*\n/)) {
    const id = /^Id=(.+)$/m.exec(block)?.[1];
    const pid = Number(/^MainPID=(\d+)$/m.exec(block)?.[1] ?? 0);
    if (id) out.set(id.trim(), pid);
  }
  return out;
}

/**
 * Merges `systemctl list-units --type=service --all --output=json` with
 * `list-unit-files --type=service --output=json` (startup type) and optional MainPIDs.
 * Unit files never loaded (disabled, not running) are listed too, as stopped.
 */
export function parseSystemdServices(unitsJson: string, unitFilesJson: string, pids = new Map<string, number>()): ServiceInfo[] {
  const startup = new Map<string, string>();
  for (const f of parseJsonArray<SystemdUnitFile>(unitFilesJson)) {
    if (f.unit_file && f.state) startup.set(f.unit_file, f.state);
  }
  const out = new Map<string, ServiceInfo>();
  for (const u of parseJsonArray<SystemdUnit>(unitsJson)) {
    if (!u.unit?.endsWith('.service')) continue;
    out.set(u.unit, {
      name: u.unit.replace(/\.service$/, ''),
      displayName: u.description || u.unit,
      status: systemdStatus(u.active),
      startupType: startup.get(u.unit) ?? (u.unit.includes('@') ? 'indirect' : 'static'),
      pid: pids.get(u.unit) ?? 0,
    });
  }
  for (const [unit, state] of startup) {
    // Template units ("getty@.service") are not services by themselves.
    if (out.has(unit) || unit.endsWith('@.service')) continue;
    out.set(unit, { name: unit.replace(/\.service$/, ''), displayName: unit, status: ServiceStatus.SERVICE_STOPPED, startupType: state, pid: 0 });
  }
  return [...out.values()].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
}

/**
 * `service --status-all` lines " [ + ]  name": + running, - stopped, ? the script has no status
 * action, reported as PENDING since we cannot tell.
 */
export function parseSysvStatusAll(text: string, enabled: Set<string> = new Set()): ServiceInfo[] {
  const out: ServiceInfo[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\[\s*([+?-])\s*\]\s+(\S+)\s*$/.exec(line);
    if (!m) continue;
    const [, mark, name = ''] = m;
    const status = mark === '+' ? ServiceStatus.SERVICE_RUNNING : mark === '-' ? ServiceStatus.SERVICE_STOPPED : ServiceStatus.SERVICE_PENDING;
    out.push({ name, displayName: name, status, startupType: enabled.has(name) ? 'enabled' : 'disabled', pid: 0 });
  }
  return out.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
}

/** Service names with an S-link in any multi-user runlevel (rc2.d..rc5.d) or rcS.d. */
export function enabledFromRcLinks(linkNames: string[]): Set<string> {
  const out = new Set<string>();
  for (const n of linkNames) {
    const m = /^S\d\d(.+)$/.exec(n);
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}
