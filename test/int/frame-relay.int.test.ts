/**
 * The gateway's frame relay against a real nats-server: a held relay (what a switch subscribes before
 * the agent answers) keeps the latest keyframe and what followed it, and sends them only on release;
 * a live relay never forwards deltas before a keyframe and asks for one instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectBus } from '../../proto/bus/connect.js';
import { decode, encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { relayFrames } from '../../services/gateway/ws/frame-relay.js';
import { startTestNats, type TestNats } from '../support/servers.js';

const agent = 'relay-agent' as AgentId;

/** A socket that records what it was sent, as frame seq numbers. */
function recordingSocket() {
  const sent: number[] = [];
  return {
    sent,
    bufferedAmount: 0,
    send(data: Uint8Array) {
      const r = decode(data, subjects.frame(agent, 1));
      assert.ok(r.ok);
      sent.push(Number(r.value.videoFrame?.seq));
    },
  };
}

describe('frame relay (real nats-server)', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let pub: NatsConnection;
  before(async () => {
    nats = await startTestNats();
    nc = await connectBus({ servers: nats.url, name: 'relay' });
    pub = await connectBus({ servers: nats.url, name: 'agent' });
  });
  after(async () => {
    await nc.close();
    await pub.close();
    await nats.stop();
  });

  const frame = (sessionId: number, seq: number, keyframe: boolean) =>
    pub.publish(subjects.frame(agent, sessionId), encode(message({ videoFrame: { sessionId, seq, keyframe, width: 4, height: 4, tiles: [] } }, { agentId: agent })));
  /** Publishes, then waits until the relay's connection has seen everything sent so far. */
  const settle = async () => {
    await pub.flush();
    await nc.flush();
    await new Promise((r) => setTimeout(r, 20));
  };

  it('a held relay sends nothing until release, then the latest keyframe and the deltas after it', async () => {
    const socket = recordingSocket();
    let asked = 0;
    const relay = relayFrames(nc, agent, 1, socket, () => asked++, { held: true });
    await nc.flush();
    frame(1, 1, false); // a delta before any keyframe cannot be painted: not kept
    frame(1, 2, true);
    frame(1, 3, false);
    frame(1, 4, true); // a newer keyframe replaces what was held
    frame(1, 5, false);
    frame(2, 6, true); // another session's subject: never this relay's
    await settle();
    assert.deepEqual(socket.sent, [], 'nothing reaches the socket while held');
    relay.release();
    assert.deepEqual(socket.sent, [4, 5]);
    frame(1, 7, false);
    await settle();
    assert.deepEqual(socket.sent, [4, 5, 7], 'live after release');
    assert.equal(asked, 0, 'the held keyframe made a keyframe request unnecessary');
    relay.stop();
  });

  it('a held relay released without a keyframe asks for one and skips deltas until it comes', async () => {
    const socket = recordingSocket();
    let asked = 0;
    const relay = relayFrames(nc, agent, 1, socket, () => asked++, { held: true });
    await nc.flush();
    relay.release();
    assert.equal(asked, 1);
    frame(1, 10, false);
    frame(1, 11, true);
    frame(1, 12, false);
    await settle();
    assert.deepEqual(socket.sent, [11, 12]);
    relay.stop();
  });

  it('a socket over its high-water mark drops frames and resumes from a keyframe', async () => {
    const socket = recordingSocket();
    const relay = relayFrames(nc, agent, 1, socket, () => {});
    await nc.flush();
    frame(1, 20, true);
    await settle();
    socket.bufferedAmount = 8 * 1024 * 1024;
    frame(1, 21, false);
    await settle();
    socket.bufferedAmount = 0;
    frame(1, 22, false); // the viewer missed 21: this delta would paint on a stale image
    frame(1, 23, true);
    frame(1, 24, false);
    await settle();
    assert.deepEqual(socket.sent, [20, 23, 24]);
    assert.equal(relay.stats.dropped, 2);
    // One pace window: five frames offered (dropped or not), and frames dropped behind the socket.
    const w = relay.takeWindow();
    assert.equal(w.behind, true);
    assert.equal(w.offered.frames, 5);
    assert.ok(w.offered.bytes > 0);
    assert.deepEqual(relay.takeWindow(), { behind: false, offered: { frames: 0, bytes: 0 } }, 'the next window counts from the last');
    relay.stop();
  });
});
