/** Picks the platform's pty for the terminal manager: Linux has one, Windows (ConPTY) not yet. */
import type { SpawnPty } from './pty-types.js';

/** The pty spawner of this OS, or undefined where interactive terminals are not available. */
export async function selectSpawnPty(): Promise<SpawnPty | undefined> {
  if (process.platform !== 'linux') return undefined;
  const [{ spawnLinuxPty }, { collectSessions }] = await Promise.all([import('../platform/linux/pty.js'), import('../platform/linux/sessions.js')]);
  return (req) => spawnLinuxPty(req, async (id) => (await collectSessions()).find((s) => s.info.sessionId === id));
}
