/**
 * Facts about the machine the tests run on that decide which answer is right, detected here on
 * their own (not by asking the code under test). Here and in CI: root in a container, no systemd as
 * PID 1, Debian's /etc/init.d with service(8) — a sysv host.
 */
import { existsSync } from 'node:fs';

/** The service manager the agent must find on this host. */
export const hostServiceManager: 'systemd' | 'sysv' | 'none' = existsSync('/run/systemd/system')
  ? 'systemd'
  : existsSync('/etc/init.d') && (existsSync('/usr/sbin/service') || existsSync('/sbin/service'))
    ? 'sysv'
    : 'none';

/** A node:test `skip` value: false on a host with `manager`, else the reason. */
export function skipUnlessServiceManager(...managers: (typeof hostServiceManager)[]): false | string {
  return managers.includes(hostServiceManager) ? false : `this host's service manager is ${hostServiceManager}, not ${managers.join(' or ')}`;
}
