/** Local X displays: the sockets in /tmp/.X11-unix and the server processes that serve them. */
import { readdir, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { listPids, readCmdline } from './procfs.js';

export const X11_SOCKET_DIR = '/tmp/.X11-unix';

/** X display numbers map to TCP port 6000 + n, so a real display number stays below this. */
export const MAX_DISPLAY = 59535;

export interface XSocket {
  display: number;
  ownerUid: number;
  mtimeMs: number;
}

export interface XServer {
  pid: number;
  /** Remote-desktop servers (xrdp, VNC, x2go/NX) make the session SESSION_RDP. */
  remote: boolean;
}

/** Sockets X<n> in the X11 socket directory; [] when the directory does not exist. */
export async function listXSockets(dir = X11_SOCKET_DIR): Promise<XSocket[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: XSocket[] = [];
  for (const name of names) {
    const m = /^X(\d+)$/.exec(name);
    if (!m) continue;
    const display = Number(m[1]);
    if (display > MAX_DISPLAY) continue;
    try {
      const st = await stat(`${dir}/${name}`);
      out.push({ display, ownerUid: st.uid, mtimeMs: st.mtimeMs });
    } catch {
      // The socket went away between readdir and stat: the display is gone.
    }
  }
  return out.sort((a, b) => a.display - b.display);
}

const REMOTE_SERVER = /xrdp|vnc|x2go|nxagent|nxnode/i;
const X_SERVER = /^(X|Xorg|Xvfb|Xephyr|Xwayland|Xnest|Xvnc|Xtigervnc|Xtightvnc|x2goagent|nxagent|Xdummy)$/i;

/** Decides from argv whether it is an X server for some display and which. */
export function xServerOf(argv: string[]): { display: number; remote: boolean } | undefined {
  const exe = basename(argv[0] ?? '');
  const isServer = X_SERVER.test(exe) || REMOTE_SERVER.test(exe);
  if (!isServer) return undefined;
  const arg = argv.slice(1).find((a) => /^:\d+$/.test(a));
  if (!arg) return undefined;
  // Xorg started by xrdp (xorgxrdp) shows itself only through its config path.
  return { display: Number(arg.slice(1)), remote: argv.some((a) => REMOTE_SERVER.test(a)) };
}

/** The X server process of each display, found by its ":<n>" argument in /proc/<pid>/cmdline. */
export async function findXServers(): Promise<Map<number, XServer>> {
  const out = new Map<number, XServer>();
  const pids = await listPids();
  const argvs = await Promise.all(pids.map(readCmdline));
  for (const [i, argv] of argvs.entries()) {
    const s = xServerOf(argv);
    if (s && !out.has(s.display)) out.set(s.display, { pid: pids[i] ?? 0, remote: s.remote });
  }
  return out;
}
