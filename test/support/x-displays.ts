/**
 * Real X displays owned by real users, as a multi-user machine has: each display is an Xvfb
 * server run as its own Unix user, so /tmp/.X11-unix/X<n> is owned by that user. Needs root
 * (to create the users); the tests that use it are integration or end-to-end tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Child, startChild } from '../../infra/servers/child.js';

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

/** A display number whose socket and lock file are both free. */
function freeDisplay(from: number): number {
  for (let d = from; d < from + 200; d++) {
    if (!existsSync(`/tmp/.X11-unix/X${d}`) && !existsSync(`/tmp/.X${d}-lock`)) return d;
  }
  throw new Error('no free X display number');
}

/**
 * Starts one Xvfb per user (`users[i]` owns the i-th display), waits until each accepts clients,
 * and optionally paints each root window a solid colour so captures can tell them apart.
 */
export async function startUserDisplays(
  users: string[],
  opts: { width?: number; height?: number; colors?: string[]; firstDisplay?: number } = {},
): Promise<{ displays: UserDisplay[]; stop(): Promise<void> }> {
  const { width = 1024, height = 768 } = opts;
  const logDir = mkdtempSync(join(tmpdir(), 'gc-xvfb-'));
  const displays: UserDisplay[] = [];
  let next = opts.firstDisplay ?? 40 + Math.floor(Math.random() * 300);
  execFileSync('mkdir', ['-p', '/tmp/.X11-unix']);
  execFileSync('chmod', ['1777', '/tmp/.X11-unix']);
  try {
    for (const [i, user] of users.entries()) {
      const { uid, gid } = ensureUser(user);
      const display = freeDisplay(next);
      next = display + 1;
      const child = startChild('Xvfb', [`:${display}`, '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-ac', '-noreset', '+extension', 'MIT-SHM'], {
        logFile: join(logDir, `xvfb-${display}.log`),
        uid,
        gid,
        env: { ...process.env, HOME: `/home/${user}` },
      });
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
