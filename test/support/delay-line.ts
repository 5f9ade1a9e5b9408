/**
 * A userspace delay line between two TUN devices: every IP packet read from one is written to the
 * other `delayMs` later, in order. This kernel has no netem, so this stands in for `netem delay`;
 * the rate limit and its queue stay in the kernel (tbf on each device, slow-link.ts). Run as its own
 * process (`node --import tsx delay-line.ts <tunA> <tunB> <delayMs>`): it prints "ready" once both
 * devices exist, and the devices vanish when it exits.
 */
import { closeSync, openSync, read, writeSync } from 'node:fs';
import koffi from 'koffi';

/** _IOW('T', 202, int) */
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFREQ_SIZE = 40;

const libc = koffi.load('libc.so.6');
const ioctl = libc.func('int ioctl(int fd, unsigned long req, void *arg)');

/** Opens a new TUN device named `name` (IP packets, no packet-info header); returns its fd. */
export function openTun(name: string): number {
  if (Buffer.byteLength(name) > 15) throw new Error(`TUN name too long: ${name}`);
  const fd = openSync('/dev/net/tun', 'r+');
  const ifr = Buffer.alloc(IFREQ_SIZE);
  ifr.write(name, 0, 'latin1');
  ifr.writeUInt16LE(IFF_TUN | IFF_NO_PI, 16);
  if (ioctl(fd, TUNSETIFF, ifr) !== 0) {
    closeSync(fd);
    throw new Error(`TUNSETIFF ${name} failed`);
  }
  return fd;
}

/** Forwards packets from `from` to `to` after `delayMs` each (FIFO: a fixed delay keeps order). */
function pump(from: number, to: number, delayMs: number): void {
  const queue: { due: number; data: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length && queue[0]!.due <= now) {
      const p = queue.shift()!;
      try {
        writeSync(to, p.data);
      } catch {
        // The other device is gone or refused the packet: a lost packet, as on a real link.
      }
    }
    if (queue.length) timer = setTimeout(flush, Math.max(0, queue[0]!.due - now));
  };
  const buf = Buffer.alloc(65536);
  const next = () =>
    read(from, buf, 0, buf.length, null, (e, n) => {
      if (e) return;
      queue.push({ due: performance.now() + delayMs, data: Buffer.from(buf.subarray(0, n)) });
      if (!timer) timer = setTimeout(flush, delayMs);
      next();
    });
  next();
}

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!);
if (isMain) {
  const [a, b, delay] = process.argv.slice(2);
  const delayMs = Number(delay);
  if (!a || !b || !Number.isFinite(delayMs) || delayMs < 0) {
    console.error('usage: delay-line.ts <tunA> <tunB> <delayMs>');
    process.exit(2);
  }
  const fa = openTun(a);
  const fb = openTun(b);
  pump(fa, fb, delayMs);
  pump(fb, fa, delayMs);
  process.stdout.write('ready\n');
  // Blocking reads hold libuv pool threads; exit at once on a signal instead of waiting for them.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
}
