/**
 * Real X displays owned by real users, as a multi-user machine has: each display is an Xvfb
 * server run as its own Unix user, so /tmp/.X11-unix/X<n> is owned by that user. Needs root
 * (to create the users); the tests that use it are integration or end-to-end tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Child, startChild } from './child.js';

export interface UserDisplay {
  display: number;
  user: string;
  uid: number;
  /** The DISPLAY value, e.g. ":42". */
  name: string;
  child: Child;
}

/** Creates the system user if it does not exist yet; returns its uid and gid. */
export function ensureUser(user: string): { uid: number; gid: number } {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', user], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * Starts one Xvfb per user (`users[i]` owns the i-th display), waits until each accepts clients,
 * and optionally paints each root window a solid colour so captures can tell them apart.
 */
export async function startUserDisplays(users: string[], opts: { width?: number; height?: number; colors?: string[] } = {}): Promise<{ displays: UserDisplay[]; stop(): Promise<void> }> {
  const { width = 1024, height = 768 } = opts;
  const logDir = mkdtempSync(join(tmpdir(), 'gc-xvfb-'));
  const displays: UserDisplay[] = [];
  execFileSync('mkdir', ['-p', '/tmp/.X11-unix']);
  execFileSync('chmod', ['1777', '/tmp/.X11-unix']);
  try {
    for (const [i, user] of users.entries()) {
      const { uid, gid } = ensureUser(user);
      // -displayfd: Xvfb takes the first free display itself and tells us its number, so tests
      // running side by side can never race for one display (and paint each other's screens).
      const child = startChild('Xvfb', ['-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-ac', '-noreset', '+extension', 'MIT-SHM'], {
        logFile: join(logDir, `xvfb-${user}-${i}.log`),
        uid,
        gid,
        env: { ...process.env, HOME: `/home/${user}` },
        fd3: true,
      });
      const display = await displayNumber(child);
      const d: UserDisplay = { display, user, uid, name: `:${display}`, child };
      displays.push(d);
      await waitForDisplay(d.name, child);
      const color = opts.colors?.[i];
      if (color) execFileSync('xsetroot', ['-solid', color], { env: { ...process.env, DISPLAY: d.name } });
    }
  } catch (e) {
    await Promise.all(displays.map((d) => d.child.stop(2000)));
    throw e;
  }
  return {
    displays,
    async stop() {
      await Promise.all(displays.map((d) => d.child.stop(2000)));
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** Reads the display number Xvfb writes to fd 3 once it listens. */
function displayNumber(child: Child): Promise<number> {
  const fd3 = child.proc.stdio[3] as NodeJS.ReadableStream | null | undefined;
  if (!fd3) return Promise.reject(new Error('Xvfb has no fd 3'));
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('Xvfb did not report its display within 15 s')), 15_000);
    fd3.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(Number(text.trim()));
      }
    });
    child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited with ${code} before reporting a display`));
    });
  });
}

async function waitForDisplay(name: string, child: Child): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.proc.exitCode !== null) throw new Error(`Xvfb ${name} exited with ${child.proc.exitCode}`);
    try {
      execFileSync('xdpyinfo', [], { env: { ...process.env, DISPLAY: name }, stdio: 'ignore' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`X display ${name} did not come up`);
}
