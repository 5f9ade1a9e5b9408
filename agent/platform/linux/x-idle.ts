/**
 * Input idle time of an X display, asked over the X11 wire protocol itself (MIT-SCREEN-SAVER
 * QueryInfo) on the display's Unix socket. Not through Xlib: Xlib calls exit() or can hang when a
 * display's server goes away mid-call — which is exactly what a user logging out does — and this
 * query runs for every display every poll. A socket that breaks is just an error here.
 */
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';

const TIMEOUT_MS = 1000;
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** MIT-MAGIC-COOKIE-1 for display number `display` from an Xauthority file, if there is one. */
export function cookieFor(xauth: Buffer, display: number): Buffer | undefined {
  let o = 0;
  const field = () => {
    const len = xauth.readUInt16BE(o + 0);
    const v = xauth.subarray(o + 2, o + 2 + len);
    o += 2 + len;
    return v;
  };
  while (o + 2 <= xauth.length) {
    o += 2; // family
    field(); // address
    const number = field().toString('latin1');
    const name = field().toString('latin1');
    const data = field();
    if (name === 'MIT-MAGIC-COOKIE-1' && (number === String(display) || number === '')) return data;
  }
  return undefined;
}

/** The connection-setup request (little-endian), with an optional cookie. */
export function setupRequest(cookie?: Buffer): Buffer {
  const name = cookie ? Buffer.from('MIT-MAGIC-COOKIE-1', 'latin1') : Buffer.alloc(0);
  const data = cookie ?? Buffer.alloc(0);
  const b = Buffer.alloc(12 + name.length + pad4(name.length) + data.length + pad4(data.length));
  b.write('l', 0, 'latin1');
  b.writeUInt16LE(11, 2);
  b.writeUInt16LE(0, 4);
  b.writeUInt16LE(name.length, 6);
  b.writeUInt16LE(data.length, 8);
  name.copy(b, 12);
  data.copy(b, 12 + name.length + pad4(name.length));
  return b;
}

/** Root window of screen 0 from a complete setup reply, or undefined when the server refused us. */
export function rootOfSetupReply(reply: Buffer): number | undefined {
  if (reply[0] !== 1) return undefined;
  const d = 8;
  const vendorLen = reply.readUInt16LE(d + 16);
  const formats = reply.readUInt8(d + 21);
  return reply.readUInt32LE(d + 32 + vendorLen + pad4(vendorLen) + 8 * formats);
}

function queryExtension(name: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const b = Buffer.alloc(8 + n.length + pad4(n.length));
  b.writeUInt8(98, 0);
  b.writeUInt16LE(b.length / 4, 2);
  b.writeUInt16LE(n.length, 4);
  n.copy(b, 8);
  return b;
}

function screenSaverQueryInfo(major: number, root: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(major, 0);
  b.writeUInt8(1, 1);
  b.writeUInt16LE(2, 2);
  b.writeUInt32LE(root, 4);
  return b;
}

/** Reads from the socket until `need(buffer)` says how many bytes make a whole answer. */
function conversation(path: string, first: Buffer): { next(need: (b: Buffer) => number | undefined, send?: Buffer): Promise<Buffer>; close(): void } {
  const sock = connect({ path });
  let buf = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  let failure: Error | undefined;
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    waiter?.();
  });
  const fail = (e: Error) => {
    failure = e;
    waiter?.();
  };
  sock.on('error', fail);
  sock.on('close', () => fail(new Error('X server closed the connection')));
  sock.setTimeout(TIMEOUT_MS, () => fail(new Error('X server did not answer')));
  sock.write(first);
  return {
    async next(need, send) {
      if (send) sock.write(send);
      for (;;) {
        const n = need(buf);
        if (n !== undefined && buf.length >= n) {
          const out = buf.subarray(0, n);
          buf = buf.subarray(n);
          return out;
        }
        if (failure) throw failure;
        await new Promise<void>((r) => {
          waiter = r;
        });
        waiter = undefined;
      }
    },
    close: () => sock.destroy(),
  };
}

const setupLength = (b: Buffer) => (b.length >= 8 ? 8 + 4 * b.readUInt16LE(6) : undefined);
const replyLength = (b: Buffer) => (b.length >= 8 ? 32 + 4 * b.readUInt32LE(4) : undefined);

/** Seconds since the last input on display ":<n>"; 0 when it cannot be known. */
export async function xIdleSecs(display: string, xauthority?: string): Promise<number> {
  const n = Number(display.replace(/^:/, '').split('.')[0]);
  if (!Number.isInteger(n)) return 0;
  const cookie = xauthority
    ? await readFile(xauthority).then(
        (b) => cookieFor(b, n),
        () => undefined,
      )
    : undefined;
  const x = conversation(`/tmp/.X11-unix/X${n}`, setupRequest(cookie));
  try {
    const root = rootOfSetupReply(await x.next(setupLength));
    if (root === undefined) return 0;
    const ext = await x.next(replyLength, queryExtension('MIT-SCREEN-SAVER'));
    if (ext[0] !== 1 || ext[8] !== 1) return 0;
    const info = await x.next(replyLength, screenSaverQueryInfo(ext[9]!, root));
    return info[0] === 1 ? Math.floor(info.readUInt32LE(16) / 1000) : 0;
  } catch {
    return 0;
  } finally {
    x.close();
  }
}
