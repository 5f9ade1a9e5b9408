/** Services through systemd when it is PID 1's manager, else SysV init scripts, else unavailable. */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { ControlResult, ServiceList } from '../port.js';
import { run } from './exec.js';
import { enabledFromRcLinks, parseSystemdServices, parseSystemdShow, parseSysvStatusAll } from './services-parse.js';

type Manager = 'systemd' | 'sysv' | 'none';

/** Which service manager this host runs; systemd counts only when it booted the system. */
function serviceManager(): Manager {
  if (existsSync('/run/systemd/system')) return 'systemd';
  if (existsSync('/etc/init.d') && (existsSync('/usr/sbin/service') || existsSync('/sbin/service'))) return 'sysv';
  return 'none';
}

/** Unit / init-script names: letters, digits and @._:- only, never an option-like leading dash. */
export function validServiceName(name: string): boolean {
  return /^[A-Za-z0-9@_.:][A-Za-z0-9@_.:-]{0,254}$/.test(name) && !name.includes('..');
}

/** The service list, or available=false with the reason. */
export async function listLinuxServices(): Promise<Result<ServiceList>> {
  const mgr = serviceManager();
  if (mgr === 'systemd') {
    const [units, files] = await Promise.all([
      run('systemctl', ['list-units', '--type=service', '--all', '--output=json', '--no-pager']),
      run('systemctl', ['list-unit-files', '--type=service', '--output=json', '--no-pager']),
    ]);
    if (units.code !== 0) return err(ErrorCode.PLATFORM_ERROR, `systemctl list-units failed: ${units.spawnError ?? units.stderr.trim()}`);
    const names = parseSystemdServices(units.stdout, '[]').map((s) => `${s.name}.service`);
    const show = names.length ? await run('systemctl', ['show', '-p', 'Id', '-p', 'MainPID', '--', ...names]) : undefined;
    const pids = show?.code === 0 ? parseSystemdShow(show.stdout) : new Map<string, number>();
    return ok({ available: true, unavailableReason: '', services: parseSystemdServices(units.stdout, files.code === 0 ? files.stdout : '[]', pids) });
  }
  if (mgr === 'sysv') {
    const res = await run('service', ['--status-all'], 60_000);
    if (res.spawnError) return ok({ available: false, unavailableReason: `cannot run service(8): ${res.spawnError}`, services: [] });
    // Older `service` prints the "[ ? ]" lines on stderr.
    return ok({ available: true, unavailableReason: '', services: parseSysvStatusAll(`${res.stdout}\n${res.stderr}`, await rcEnabled()) });
  }
  return ok({
    available: false,
    unavailableReason: 'no service manager found: systemd is not running (/run/systemd/system missing) and there is no /etc/init.d with service(8)',
    services: [],
  });
}

async function rcEnabled(): Promise<Set<string>> {
  const links: string[] = [];
  for (const dir of ['/etc/rcS.d', '/etc/rc2.d', '/etc/rc3.d', '/etc/rc4.d', '/etc/rc5.d']) {
    links.push(...(await readdir(dir).catch(() => [] as string[])));
  }
  return enabledFromRcLinks(links);
}

/** start / stop / restart a service; a refusal by the manager is ok=false with its message. */
export async function controlLinuxService(name: string, action: 'start' | 'stop' | 'restart'): Promise<Result<ControlResult>> {
  if (!validServiceName(name)) return err(ErrorCode.VALIDATION_FAILED, `"${name}" is not a valid service name (letters, digits, @ _ . : - only)`);
  if (!['start', 'stop', 'restart'].includes(action)) return err(ErrorCode.VALIDATION_FAILED, `action must be start, stop or restart, not "${action}"`);
  const mgr = serviceManager();
  if (mgr === 'none') return err(ErrorCode.NOT_AVAILABLE, 'this host has no service manager the agent can drive');
  if (mgr === 'sysv' && !existsSync(`/etc/init.d/${name}`)) return err(ErrorCode.NOT_FOUND, `no init script /etc/init.d/${name}`);
  const res = mgr === 'systemd' ? await run('systemctl', [action, '--no-ask-password', '--', name], 120_000) : await run('service', [name, action], 120_000);
  const detail = (res.spawnError ?? `${res.stdout}${res.stderr}`).trim() || (res.code === 0 ? `${action} done` : `exit code ${res.code}`);
  return ok({ ok: res.code === 0, target: name, action, detail });
}
