/** The Linux platform backend: X displays and utmp for sessions, /proc, systemd or SysV services. */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { PlatformPort, SessionDesktop } from '../port.js';
import { killLinuxProcess } from './kill-process.js';
import { createServicesCache } from '../services-cache.js';
import { createProcessLister } from './processes.js';
import { controlLinuxService, listLinuxServices } from './services.js';
import { type LinuxSession, collectSessions } from './sessions.js';
import { spawnLinux } from './spawn.js';
import { hostIdentity, systemInfo, uptimeSecs } from './system-info.js';
import { UTMP_PATH } from './utmp.js';
import { watchSessionSources } from './watch-sessions.js';
import { X11_SOCKET_DIR } from './x-servers.js';

/** What the X11 capture/input code needs to open one session's desktop. */
export interface DesktopTarget {
  sessionId: number;
  display: string;
  uid: number;
  user: string;
}

export interface LinuxPlatformOptions {
  /** Opens capture and input on an X display (agent/platform/linux/x11, injected by the agent wiring). */
  openDesktop: (session: DesktopTarget) => Promise<Result<SessionDesktop>>;
  /** Reported in SystemInfo.agent_version. */
  agentVersion?: string;
  /** Where login records are read and watched (tests point it at a hand-built file). */
  utmpPath?: string;
  /** Where processes are read (tests point it at a hand-built tree). */
  procRoot?: string;
}

/** Builds the Linux PlatformPort. */
export function createLinuxPlatform(opts: LinuxPlatformOptions): PlatformPort {
  const utmpPath = opts.utmpPath ?? UTMP_PATH;
  const findSession = async (id: number): Promise<LinuxSession | undefined> => (await collectSessions({ utmpPath })).find((s) => s.info.sessionId === id);
  const sessionInfos = async () => (await collectSessions({ utmpPath })).map((s) => s.info);
  const listLinuxProcesses = createProcessLister({ procRoot: opts.procRoot });
  const services = createServicesCache(listLinuxServices);
  return {
    name: 'linux',
    identity: hostIdentity,
    async listSessions() {
      try {
        return ok(await sessionInfos());
      } catch (e) {
        return err(ErrorCode.PLATFORM_ERROR, `could not enumerate sessions: ${String(e)}`);
      }
    },
    watchSessions: (onChange) => watchSessionSources(onChange, { paths: [X11_SOCKET_DIR, utmpPath] }),
    uptimeSecs,
    async systemInfo() {
      try {
        return ok(await systemInfo(await sessionInfos(), opts.agentVersion ?? ''));
      } catch (e) {
        return err(ErrorCode.PLATFORM_ERROR, `could not read system information: ${String(e)}`);
      }
    },
    async listProcesses(o) {
      try {
        return ok(await listLinuxProcesses(o));
      } catch (e) {
        return err(ErrorCode.PLATFORM_ERROR, `could not read /proc: ${String(e)}`);
      }
    },
    listServices: () => services.list(),
    async controlService(name, action) {
      const r = await controlLinuxService(name, action);
      // Even a refused start may have moved the unit (to failed): the next list reads again.
      if (r.ok) services.invalidate();
      return r;
    },
    async killProcess(pid) {
      const r = await killLinuxProcess(pid);
      // The process may have been a service's main process.
      if (r.ok && r.value.ok) services.invalidate();
      return r;
    },
    spawn: (req) => spawnLinux(req, findSession),
    async openDesktop(sessionId) {
      const s = await findSession(sessionId);
      if (!s) return err(ErrorCode.SESSION_NOT_FOUND, `session ${sessionId} does not exist on this host; refresh the session list`);
      if (!s.display || !s.info.capturable) return err(ErrorCode.SESSION_NOT_CAPTURABLE, `session ${sessionId} (${s.info.stationName}) has no X display to capture`);
      return opts.openDesktop({ sessionId, display: s.display, uid: s.uid, user: s.user });
    },
  };
}
