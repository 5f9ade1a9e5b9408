/** Chooses the platform backend once, at start-up; nothing else in the agent asks which OS it is on. */
import type { PlatformPort } from './port.js';

export async function selectPlatform(agentVersion: string): Promise<PlatformPort> {
  if (process.platform === 'win32') {
    const { createWindowsPlatform } = await import('./windows/index.js');
    return createWindowsPlatform({ agentVersion });
  }
  const [{ createLinuxPlatform }, { openX11Desktop }] = await Promise.all([import('./linux/index.js'), import('./linux/x11/desktop.js')]);
  return createLinuxPlatform({ openDesktop: openX11Desktop, agentVersion });
}
