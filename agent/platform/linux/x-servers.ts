/** Local X displays: the sockets in /tmp/.X11-unix and the server processes that serve them. */
import { readFile, readdir, readlink, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { listPidsSync, readCmdlineSync } from './process-read.js';

export const X11_SOCKET_DIR = '/tmp/.X11-unix';

/** X display numbers map to TCP port 6000 + n, so a real display number stays below this. */
const MAX_DISPLAY = 59535;

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

/** Whether argv[0] names an X server, and whether a remote-desktop one. */
function serverKind(argv: string[]): { remote: boolean } | undefined {
  const exe = basename(argv[0] ?? '');
  if (!X_SERVER.test(exe) && !REMOTE_SERVER.test(exe)) return undefined;
  // Xorg started by xrdp (xorgxrdp) shows itself only through its config path.
  return { remote: argv.some((a) => REMOTE_SERVER.test(a)) };
}

/** Decides from argv whether it is an X server for some display and which. */
export function xServerOf(argv: string[]): { display: number; remote: boolean } | undefined {
  const kind = serverKind(argv);
  const arg = argv.slice(1).find((a) => /^:\d+$/.test(a));
  return kind && arg ? { display: Number(arg.slice(1)), remote: kind.remote } : undefined;
}

/**
 * Listening X11 sockets by inode, from /proc/net/unix (path or abstract "@/tmp/.X11-unix/X<n>").
 * Servers started with -displayfd (GDM's Xorg, Xvfb in tests) name no display in their argv.
 */
export function parseListeningXSockets(procNetUnix: string): Map<number, number> {
  const byInode = new Map<number, number>();
  for (const line of procNetUnix.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 = listening (__SO_ACCEPTCON).
    const m = /^@?\/tmp\/\.X11-unix\/X(\d+)$/.exec(f[7] ?? '');
    if (m && (Number.parseInt(f[3] ?? '0', 16) & 0x10000) !== 0) byInode.set(Number(f[6]), Number(m[1]));
  }
  return byInode;
}

/** Listening X11 sockets of this network namespace by inode (parseListeningXSockets of /proc/net/unix). */
export async function readListeningXSockets(): Promise<Map<number, number>> {
  return parseListeningXSockets(await readFile('/proc/net/unix', 'utf8').catch(() => ''));
}

async function displaysServedBy(pid: number, byInode: Map<number, number>): Promise<number[]> {
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return links.flatMap((l) => {
    const inode = /^socket:\[(\d+)\]$/.exec(l)?.[1];
    const d = inode ? byInode.get(Number(inode)) : undefined;
    return d === undefined ? [] : [d];
  });
}

/** The pid an X server wrote in its lock file (/tmp/.X<n>-lock: ten padded digits), if it reads as one. */
export function parseXLockPid(text: string): number | undefined {
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : 0;
  return pid >= 1 && pid <= 2 ** 31 - 1 ? pid : undefined;
}

/**
 * The server of `display` named by its lock file, if that process is an X server of that display:
 * its argv names it, or (-displayfd) it holds the display's listening socket. A stale lock (its pid
 * gone or reused) or one naming something else resolves nothing.
 */
async function serverByLock(display: number, listening: Map<number, number>, lockDir: string): Promise<XServer | undefined> {
  const pid = parseXLockPid(await readFile(`${lockDir}/.X${display}-lock`, 'latin1').catch(() => ''));
  if (pid === undefined) return undefined;
  const argv = readCmdlineSync('/proc', pid);
  const kind = serverKind(argv);
  if (!kind) return undefined;
  const named = xServerOf(argv);
  if (named) return named.display === display ? { pid, remote: kind.remote } : undefined;
  return (await displaysServedBy(pid, listening)).includes(display) ? { pid, remote: kind.remote } : undefined;
}

/**
 * The X server process of each display. Each display in `wanted` is first looked up through its
 * lock file: an X.Org server writes its pid there, so a poll reads a few files instead of every
 * process's argv (thousands on a terminal server, every 2 s). Only when a wanted display is not
 * resolved that way (no lock file: -nolock, another /tmp) does it scan every process: by its ":<n>"
 * argument in /proc/<pid>/cmdline, else (for servers that chose their display with -displayfd) by
 * the listening socket it holds open (`listening`: readListeningXSockets()).
 */
export async function findXServers(listening: Map<number, number>, wanted: readonly number[] = [], lockDir = '/tmp'): Promise<Map<number, XServer>> {
  const out = new Map<number, XServer>();
  for (const d of new Set(wanted)) {
    const s = await serverByLock(d, listening, lockDir);
    if (s) out.set(d, s);
  }
  if (wanted.length > 0 && wanted.every((d) => out.has(d))) return out;
  const pids = listPidsSync('/proc');
  const argvs = pids.map((pid) => readCmdlineSync('/proc', pid));
  const unnamed: { pid: number; remote: boolean }[] = [];
  for (const [i, argv] of argvs.entries()) {
    const s = xServerOf(argv);
    if (s && !out.has(s.display)) out.set(s.display, { pid: pids[i] ?? 0, remote: s.remote });
    else if (!s) {
      const kind = serverKind(argv);
      if (kind) unnamed.push({ pid: pids[i] ?? 0, remote: kind.remote });
    }
  }
  if (unnamed.length > 0) {
    for (const u of unnamed) {
      for (const d of await displaysServedBy(u.pid, listening)) if (!out.has(d)) out.set(d, { pid: u.pid, remote: u.remote });
    }
  }
  return out;
}
