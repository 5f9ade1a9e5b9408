/** Picks the platform's pty for the terminal manager: ConPTY on Windows, `script` on Linux. */
import type { SpawnPty } from './pty-types.js';

/** The pty spawner of this OS, or undefined where interactive terminals are not available. */
export async function selectSpawnPty(): Promise<SpawnPty | undefined> {
  // One dynamic import per OS: neither backend's modules (nor their DLLs / binaries) load on the other.
  if (process.platform === 'win32') return (await import('../platform/windows/pty.js')).spawnWindowsPty;
  if (process.platform !== 'linux') return undefined;
  const [{ spawnLinuxPty }, { collectSessions }] = await Promise.all([import('../platform/linux/pty.js'), import('../platform/linux/sessions.js')]);
  return (req) => spawnLinuxPty(req, async (id) => (await collectSessions()).find((s) => s.info.sessionId === id));
}
