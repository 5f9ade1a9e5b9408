/**
 * nats-server refuses a message over the codec's limit (proto/codec.ts MAX_MESSAGE_BYTES) when it is
 * published, instead of storing it for every decoder to drop later.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { MAX_MESSAGE_BYTES } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { type Backbone, startBackbone } from '../support/servers.js';

/** Speaks the NATS text protocol on a raw socket: sends `lines` after CONNECT and collects what comes back until `until` matches. */
function rawNats(port: number, send: (info: Record<string, unknown>) => Buffer, until: RegExp): Promise<{ info: Record<string, unknown>; reply: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let info: Record<string, unknown> | undefined;
    socket.setTimeout(20_000, () => socket.destroy(new Error(`no ${until} from nats-server; got ${text.slice(0, 300)}`)));
    socket.on('error', reject);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (!info) {
        const line = /^INFO (\{.*\}) *\r\n/.exec(text);
        if (!line) return;
        info = JSON.parse(line[1]!) as Record<string, unknown>;
        text = text.slice(line[0].length);
        socket.write(send(info));
      }
      if (until.test(text)) {
        socket.destroy();
        resolve({ info, reply: text });
      }
    });
  });
}

const pub = (subject: string, size: number) =>
  Buffer.concat([Buffer.from(`CONNECT {"verbose":false,"pedantic":false}\r\nPUB ${subject} ${size}\r\n`), Buffer.alloc(size, 0x61), Buffer.from('\r\nPING\r\n')]);

describe('nats-server max_payload follows the codec limit', { timeout: 120_000 }, () => {
  let bb: Backbone;
  before(async () => {
    bb = await startBackbone();
  });
  after(async () => {
    await bb?.stop();
  });

  it('announces MAX_MESSAGE_BYTES and refuses one byte more at publish time', async () => {
    const over = await rawNats(bb.nats.port, () => pub('gc.test.big', MAX_MESSAGE_BYTES + 1), /-ERR|PONG/);
    assert.equal(over.info.max_payload, MAX_MESSAGE_BYTES);
    assert.match(over.reply, /-ERR 'Maximum Payload Violation'/);
    const at = await rawNats(bb.nats.port, () => pub('gc.test.big', MAX_MESSAGE_BYTES), /-ERR|PONG/);
    assert.match(at.reply, /PONG/, 'a message of exactly the limit is accepted');
    assert.doesNotMatch(at.reply, /-ERR/);
  });

  it('a JetStream publish over the limit fails and stores nothing; one under it is stored', async () => {
    const subject = subjects.agentEvent('max-payload-agent' as AgentId, 'sessions');
    const jsm = await jetstreamManager(bb.nc);
    const before = (await jsm.streams.info(Streams.events.name)).state.messages;
    await assert.rejects(async () => bb.js.publish(subject, new Uint8Array(MAX_MESSAGE_BYTES + 1), { msgID: 'too-big' }), /max_payload/);
    // Headers count toward the limit: the biggest acceptable payload leaves room for them.
    await bb.js.publish(subject, new Uint8Array(MAX_MESSAGE_BYTES - 1024), { msgID: 'fits' });
    assert.equal((await jsm.streams.info(Streams.events.name)).state.messages, before + 1);
  });
});
