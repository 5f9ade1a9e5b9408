/**
 * The running agent's connection state in its state directory (`connection.json`), so that
 * `guruconnect-agent status` can say whether the service is connected without credentials of its own.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const CONNECTION_FILE = 'connection.json';
const NO_CONTROLS = /^[^\p{Cc}]*$/u;

// A pid of 0 or below is no process: kill(pid, 0) would probe a process group or every process and
// succeed, so a damaged file (pid 0, -1) read as a live, connected agent.
const stateSchema = z.object({
  pid: z
    .number()
    .int()
    .min(1)
    .max(2 ** 31 - 1),
  connected: z.boolean(),
  // Printed to the admin's terminal by `status`: a hand-edited file must not carry escape sequences.
  server: z.string().max(2048).regex(NO_CONTROLS),
  since: z.string().max(64).regex(NO_CONTROLS),
});
export type ConnectionState = z.infer<typeof stateSchema>;

/** Records the state (best effort: a full disk must not stop the agent). */
export function writeConnectionState(stateDir: string, s: ConnectionState): void {
  try {
    const file = join(stateDir, CONNECTION_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(s), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  } catch {}
}

/** The recorded state as a line of text, and whether it says connected by a process that still runs. */
export function readConnectionState(stateDir: string): { connected: boolean; text: string } {
  let s: ConnectionState;
  try {
    s = stateSchema.parse(JSON.parse(readFileSync(join(stateDir, CONNECTION_FILE), 'utf8')));
  } catch {
    return { connected: false, text: 'unknown (the agent has not recorded a connection)' };
  }
  let alive = true;
  try {
    process.kill(s.pid, 0);
  } catch (e) {
    alive = (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!alive) return { connected: false, text: `not running (last ${s.connected ? 'connected' : 'disconnected'} at ${s.since})` };
  return { connected: s.connected, text: `${s.connected ? 'connected to' : 'disconnected from'} ${s.server} since ${s.since}` };
}
