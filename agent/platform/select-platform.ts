/** Chooses the platform backend once, at start-up; nothing else in the agent asks which OS it is on. */
import type { PlatformPort } from './port.js';

export async function selectPlatform(agentVersion: string): Promise<PlatformPort> {
  if (process.platform === 'win32') {
    const { createWindowsPlatform } = await import('./windows/index.js');
    return createWindowsPlatform({ agentVersion });
  }
  const { createLinuxPlatform } = await import('./linux/index.js');
  // X11 capture (libX11 through koffi) loads when a viewer first opens a desktop, not at start-up.
  return createLinuxPlatform({ openDesktop: async (t) => (await import('./linux/x11/desktop.js')).openX11Desktop(t), agentVersion });
}
