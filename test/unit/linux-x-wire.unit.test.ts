/** The X11 wire pieces of the idle query: Xauthority cookies, the setup request and reply. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cookieFor, rootOfSetupReply, setupRequest } from '../../agent/platform/linux/x-idle.js';

const field = (s: Buffer | string) => {
  const v = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(v.length);
  return Buffer.concat([len, v]);
};
const entry = (display: string, name: string, data: Buffer) => Buffer.concat([Buffer.from([1, 0]), field('host'), field(display), field(name), field(data)]);

describe('X wire protocol pieces', () => {
  it('picks the MIT-MAGIC-COOKIE-1 of the right display from an Xauthority file', () => {
    const a = Buffer.alloc(16, 0xaa);
    const b = Buffer.alloc(16, 0xbb);
    const file = Buffer.concat([entry('0', 'MIT-MAGIC-COOKIE-1', a), entry('7', 'XDM-AUTHORIZATION-1', Buffer.alloc(8)), entry('7', 'MIT-MAGIC-COOKIE-1', b)]);
    assert.deepEqual(cookieFor(file, 7), b);
    assert.deepEqual(cookieFor(file, 0), a);
    assert.equal(cookieFor(file, 3), undefined);
  });

  it('lays out the setup request with the cookie padded to 4 bytes', () => {
    const req = setupRequest(Buffer.alloc(16, 1));
    assert.equal(req.toString('latin1', 0, 1), 'l');
    assert.equal(req.readUInt16LE(2), 11);
    assert.equal(req.readUInt16LE(6), 18);
    assert.equal(req.readUInt16LE(8), 16);
    assert.equal(req.toString('latin1', 12, 30), 'MIT-MAGIC-COOKIE-1');
    assert.equal(req.length, 12 + 20 + 16);
    assert.equal(setupRequest().length, 12);
  });

  it('finds the root window after the vendor string and pixmap formats', () => {
    const vendor = 'The X.Org Foundation'; // 20 bytes
    const reply = Buffer.alloc(8 + 32 + 20 + 2 * 8 + 40);
    reply[0] = 1;
    reply.writeUInt16LE(20, 8 + 16);
    reply.writeUInt8(2, 8 + 21);
    reply.write(vendor, 8 + 32, 'latin1');
    reply.writeUInt32LE(0x1234, 8 + 32 + 20 + 16);
    assert.equal(rootOfSetupReply(reply), 0x1234);
    reply[0] = 0;
    assert.equal(rootOfSetupReply(reply), undefined, 'a refused connection has no root');
  });
});
