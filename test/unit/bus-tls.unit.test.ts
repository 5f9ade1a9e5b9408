/** How connectBus secures a connection, decided before dialing (proto/bus/connect.ts `busTls`). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busTls } from '../../proto/bus/connect.js';

describe('busTls: TLS when asked, plain text only to loopback', () => {
  it('allows plain text to loopback addresses only', () => {
    for (const s of ['nats://127.0.0.1:4222', '127.0.0.1:4222', 'nats://localhost:1', 'nats://LOCALHOST:1', 'nats://[::1]:4222', 'nats://127.1.2.3:4222']) {
      assert.deepEqual(busTls({ servers: s }), {}, s);
    }
    for (const s of [
      'nats://10.0.0.5:4222',
      'nats://user:pw@10.0.0.5:4222',
      'nats://127.0.0.1.evil.example:4222',
      'nats://localhost.evil.example:4222',
      'gc.example',
      'nats://x\ud800:1',
      'nats://\0:1',
      `nats://${'a'.repeat(100_000)}:1`,
    ]) {
      assert.throws(() => busTls({ servers: s }), /refusing plain-text NATS/, s.slice(0, 40));
    }
    assert.throws(() => busTls({ servers: ['nats://127.0.0.1:4222', 'nats://10.0.0.5:4222'] }), /refusing plain-text NATS to nats:\/\/10\.0\.0\.5:4222/);
  });

  it('a tls:// URL (any of several) makes the whole connection TLS, verified against the system CAs', () => {
    assert.deepEqual(busTls({ servers: 'tls://gc.example:4222' }), { tls: {} });
    assert.deepEqual(busTls({ servers: 'TLS://127.0.0.1:4222' }), { tls: {} });
    assert.deepEqual(busTls({ servers: ['tls://a.example:1', 'nats://b.example:2'] }), { tls: {} });
  });

  it('a CA file makes it TLS against that CA only, and a bad one is refused before dialing', () => {
    assert.throws(() => busTls({ servers: 'nats://127.0.0.1:4222', caFile: '/nonexistent/ca.pem' }), /the NATS CA file: cannot read \/nonexistent\/ca\.pem/);
    assert.throws(() => busTls({ servers: 'tls://gc.example:4222', caFile: '' }), /not a usable file path/);
    assert.throws(() => busTls({ servers: 'tls://gc.example:4222', caFile: new URL(import.meta.url).pathname }), /no PEM certificate/);
  });
});
