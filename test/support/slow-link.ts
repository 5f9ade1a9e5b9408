/**
 * A slow network link of the test's own: a network namespace whose only way out is a point-to-point
 * link to this host, rate-limited by the kernel (tbf on both ends, with a netem-sized queue) and
 * delayed in each direction by a userspace delay line (delay-line.ts; this kernel has no netem).
 * A program started inside the namespace (`wrap`) reaches the host only at `hostAddress`, through
 * the link. Needs root. `stop` removes the namespace and the devices, whatever state they are in.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

export interface SlowLinkOptions {
  /** Rate in each direction, Mbit/s (default 5). */
  mbit?: number;
  /** Delay in each direction, ms (default 40: an 80 ms round trip). */
  delayMs?: number;
  /** Bytes queued at each end before drops (default 1000 full-size packets, netem's default limit). */
  queueBytes?: number;
}

export interface SlowLink {
  /** The namespace's name (`ip netns exec <name> ...`). */
  readonly netns: string;
  /** This host's address on the link: what the namespace connects to. */
  readonly hostAddress: string;
  /** The namespace's address on the link. */
  readonly peerAddress: string;
  /** The link's two TUN devices: `host` in this namespace, `peer` inside the link's. */
  readonly devices: { host: string; peer: string };
  /** An executable that runs `program` inside the namespace with the arguments it is given. */
  wrap(program: string): string;
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
const tc = (...args: string[]) => execFileSync('tc', args, { stdio: ['ignore', 'ignore', 'pipe'] });

const PREFIX = 'gc-slow-';
/** Names carry the owner's pid modulo this (slow-link.ts below). */
const TAG_MOD = 100000;

/** Whether some live process could be the owner of `tag` (a pid with that remainder exists). */
function ownerMayLive(tag: number, pidMax: number): boolean {
  for (let pid = tag; pid <= pidMax; pid += TAG_MOD) if (pid > 0 && existsSync(`/proc/${pid}`)) return true;
  return false;
}

/**
 * Removes the links of runs that were killed (a SIGKILL skips `stop`): a namespace named for a pid
 * no live process can have, and the delay line still holding its devices. A link whose owner may be
 * alive (another test or bench running now) is left alone. Returns the namespaces removed.
 */
export function removeStaleLinks(): string[] {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()) || 4_194_304;
  const removed: string[] = [];
  for (const ns of list.split('\n').map((l) => l.split(' ')[0] ?? '')) {
    const m = /^gc-slow-(\d{1,5})$/.exec(ns);
    if (!m) continue;
    const tag = Number(m[1]);
    if (ownerMayLive(tag, pidMax)) continue;
    // The delay line outlives a killed owner (it was reparented) and keeps both TUN devices up.
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      const args = cmd.split('\0');
      if (args.some((a) => a.endsWith('delay-line.ts')) && args.includes(`gcsh${tag}`)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {}
      }
    }
    try {
      ip('netns', 'del', ns);
      removed.push(ns);
    } catch {}
  }
  return removed;
}

/** Creates the namespace and the link; throws (after cleaning up) when any step fails. */
export async function startSlowLink(o: SlowLinkOptions = {}): Promise<SlowLink> {
  removeStaleLinks();
  const mbit = o.mbit ?? 5;
  const delayMs = o.delayMs ?? 40;
  const queueBytes = o.queueBytes ?? 1000 * 1514;
  // Names and a /30 of our own per process: parallel tests never share a namespace or addresses.
  const tag = `${process.pid % TAG_MOD}`;
  const netns = `${PREFIX}${tag}`;
  const hostDev = `gcsh${tag}`;
  const peerDev = `gcsp${tag}`;
  const net = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const hostAddress = `${net}.1`;
  const peerAddress = `${net}.2`;
  const dir = mkdtempSync(join(tmpdir(), 'gc-slow-'));

  const line = spawn(process.execPath, ['--import', 'tsx', join(here, 'delay-line.ts'), peerDev, hostDev, String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  line.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<void>((r) => line.once('exit', () => r()));
  const cleanup = async () => {
    if (line.exitCode === null && line.signalCode === null) {
      line.kill('SIGTERM');
      const t = setTimeout(() => line.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    }
    // The TUN devices go with the delay line's descriptors; the namespace is ours to remove.
    try {
      ip('netns', 'del', netns);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`delay line not ready in 20 s: ${stderr}`)), 20_000);
      line.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      line.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`delay line exited with ${code}: ${stderr}`));
      });
    });
    ip('netns', 'add', netns);
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    ip('link', 'set', peerDev, 'netns', netns);
    ip('-n', netns, 'addr', 'add', peerAddress, 'peer', hostAddress, 'dev', peerDev);
    ip('-n', netns, 'link', 'set', peerDev, 'up');
    ip('addr', 'add', hostAddress, 'peer', peerAddress, 'dev', hostDev);
    ip('link', 'set', hostDev, 'up');
    // The rate and its queue, on what each end sends: host -> namespace on hostDev, back on peerDev.
    const shape = ['qdisc', 'add', 'dev'];
    const tbf = ['root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '4kb', 'limit', String(queueBytes)];
    tc(...shape, hostDev, ...tbf);
    tc('-n', netns, ...shape, peerDev, ...tbf);
  } catch (e) {
    await cleanup();
    throw new Error(`slow link setup failed: ${(e as Error).message}${(e as { stderr?: Buffer }).stderr ? ` ${(e as { stderr: Buffer }).stderr}` : ''}`);
  }
  return {
    netns,
    hostAddress,
    peerAddress,
    devices: { host: hostDev, peer: peerDev },
    wrap(program) {
      const path = join(dir, `in-${netns}`);
      writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${netns} ${program} "$@"\n`);
      chmodSync(path, 0o755);
      return path;
    },
    stop: cleanup,
  };
}
