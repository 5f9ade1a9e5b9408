/**
 * Chooses the platform backend once, at start-up: the platform port and the pty the terminal
 * manager spawns shells on. Nothing else in the agent asks which OS it is on.
 */
import type { SpawnPty } from '../terminal/pty-types.js';
import type { PlatformPort } from './port.js';

export interface SelectedPlatform {
  port: PlatformPort;
  /** Shells on a pseudo-terminal (ConPTY on Windows, `script` on Linux); undefined where there are none. */
  spawnPty: SpawnPty | undefined;
}

/** `log` hears why the backend degraded (e.g. session notifications fell back to polling). */
export async function selectPlatform(agentVersion: string, log: (msg: string) => void): Promise<SelectedPlatform> {
  // One dynamic import per OS: neither backend's modules (nor their DLLs / binaries) load on the other.
  if (process.platform === 'win32') {
    const [{ createWindowsPlatform }, { spawnWindowsPty }] = await Promise.all([import('./windows/index.js'), import('./windows/pty.js')]);
    return { port: createWindowsPlatform({ agentVersion, log }), spawnPty: spawnWindowsPty };
  }
  const { createLinuxPlatform } = await import('./linux/index.js');
  // X11 capture (libX11 through koffi) loads when a viewer first opens a desktop, not at start-up.
  const port = createLinuxPlatform({ openDesktop: async (t) => (await import('./linux/x11/desktop.js')).openX11Desktop(t), agentVersion });
  if (process.platform !== 'linux') return { port, spawnPty: undefined };
  const [{ spawnLinuxPty }, { collectSessions }] = await Promise.all([import('./linux/pty.js'), import('./linux/sessions.js')]);
  return { port, spawnPty: (req) => spawnLinuxPty(req, async (id) => (await collectSessions()).find((s) => s.info.sessionId === id)) };
}
