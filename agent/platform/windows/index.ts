/**
 * The Windows platform backend: Win32 through koffi (WTS, SCM, Toolhelp, CreateProcess + Job objects,
 * GDI + SendInput). Imports nothing Linux-only and nothing outside proto/ and agent/, so it can be
 * bundled alone for a Windows node.exe.
 */
import { err, ok } from '../../../proto/errors.js';
import type { PlatformPort } from '../port.js';
import { createServicesCache } from '../services-cache.js';
import { openOwnDesktop } from './desktop.js';
import { openHelperDesktop } from './helper-desktop.js';
import { killProcess, listProcesses } from './processes.js';
import { controlService, listServices } from './services.js';
import { watchSessionNotifications } from './session-notifications.js';
import { listSessions, ownSessionId } from './sessions.js';
import { spawnProcess } from './spawn.js';
import { hostIdentity, systemInfo, uptimeSecs, windowsVersion } from './system-info.js';
import { isElevated } from './tokens.js';

export interface WindowsPlatformOptions {
  /** Reported in SystemInfo.agentVersion. */
  agentVersion?: string;
  /** Where the backend says why something degraded (e.g. session notifications fell back to polling). */
  log?: (msg: string) => void;
}

/** The Windows PlatformPort. */
export function createWindowsPlatform(opts: WindowsPlatformOptions = {}): PlatformPort {
  const v = windowsVersion();
  // WTS_SESSIONSTATE_LOCK / UNLOCK are swapped on Windows 7 and Server 2008 R2 (6.1).
  const legacyLockFlags = v.major === 6 && v.minor === 1;
  // An elevated agent (SYSTEM) reaches other sessions through a helper started into each.
  const elevated = isElevated();
  const sessions = () => listSessions({ legacyLockFlags, elevated });
  const log = opts.log ?? ((msg: string) => console.warn(`[windows] ${msg}`));
  // The SCM walk (one QueryServiceConfigW per service) blocks the event loop: served from a cache.
  const services = createServicesCache(async () => listServices());
  return {
    name: 'windows',
    identity: async () => hostIdentity(),
    listSessions: async () => sessions(),
    // Lock and unlock come through here too: they change `locked`, which the next listing picks up.
    watchSessions: (onChange) => watchSessionNotifications(() => onChange(), { log }).unsubscribe,
    uptimeSecs: async () => uptimeSecs(),
    async systemInfo() {
      const s = sessions();
      return ok(systemInfo(s.ok ? s.value : [], opts.agentVersion ?? ''));
    },
    listProcesses,
    listServices: () => services.list(),
    async controlService(name, action) {
      const r = await controlService(name, action);
      if (r.ok) services.invalidate();
      return r;
    },
    async killProcess(pid) {
      const r = killProcess(pid);
      // The process may have been a service's.
      if (r.ok && r.value.ok) services.invalidate();
      return r;
    },
    spawn: async (req) => spawnProcess(req),
    async openDesktop(sessionId) {
      const own = ownSessionId();
      if (sessionId === 0) return err('SESSION_NOT_CAPTURABLE', 'Session 0 has no interactive desktop: use backstage');
      if (sessionId === own) return openOwnDesktop(sessionId, log);
      const listed = sessions();
      if (listed.ok && !listed.value.some((s) => s.sessionId === sessionId)) {
        return err('SESSION_NOT_FOUND', `no session ${sessionId} on this machine`);
      }
      // The agent (a Session 0 service) cannot see another session's desktop: a helper started there does.
      return openHelperDesktop(sessionId, { log });
    },
  };
}
