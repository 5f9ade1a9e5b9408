/**
 * The installer's enrollment call against answers a gateway should never give (issue 15): a local
 * HTTP server plays the gateway; the installer must refuse, not write credentials it cannot trust.
 */
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { enroll } from '../../agent/install/enroll.js';
import { parseInstallArgs } from '../../agent/install/install-args.js';

describe('enrollment answers', () => {
  let server: Server;
  let url: string;
  let answer: (res: import('node:http').ServerResponse, body: string) => void = () => {};
  let lastBody = '';

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        lastBody = body;
        answer(res, body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const call = async (respond: typeof answer, agentId = 'pc-1') => {
    answer = respond;
    const a = parseInstallArgs(['--server', url, '--enroll-key', 'gce_k', '--agent-id', agentId]);
    assert.ok(a.ok);
    return enroll(a.value, 'host\ud800');
  };
  const json = (status: number, v: unknown) => (res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
  };

  it('sends key, id and host name as JSON and takes well-formed credentials', async () => {
    const r = await call(json(200, { agent_id: 'pc-1', creds: '-----BEGIN NATS USER JWT-----', nats_url: ['nats://a:4222', 'nats://b:4222'], site: '' }));
    assert.ok(r.ok);
    assert.deepEqual(JSON.parse(lastBody), { enrollment_key: 'gce_k', agent_id: 'pc-1', hostname: 'host\ud800' });
  });

  it('a CONFLICT envelope keeps its code and says how the admin consents', async () => {
    const r = await call(json(409, { error_code: 'CONFLICT', message: 'agent pc-1 is already enrolled', correlation_id: 'c1' }));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.code, 'CONFLICT');
      assert.match(r.message, /revokes the old agent/);
    }
  });

  it('refuses credentials for another agent, empty or oversized credentials, non-JSON and non-envelope errors', async () => {
    const cases: [typeof answer, string][] = [
      [json(200, { agent_id: 'pc-2', creds: 'x', nats_url: 'nats://a', site: '' }), 'BAD_REPLY'],
      [json(200, { agent_id: 'pc-1', creds: '', nats_url: 'nats://a', site: '' }), 'BAD_REPLY'],
      [json(200, { agent_id: 'pc-1', creds: 'x'.repeat(100_000), nats_url: 'nats://a', site: '' }), 'BAD_REPLY'],
      [json(200, { agent_id: 'pc-1', creds: 'x', site: '' }), 'BAD_REPLY'],
      [(res) => res.writeHead(200).end('not json'), 'BAD_REPLY'],
      [(res) => res.writeHead(500).end('<html>oops</html>'), 'HTTP_500'],
      [json(403, { error: 'nope' }), 'HTTP_403'],
    ];
    for (const [respond, code] of cases) {
      const r = await call(respond);
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.code, code);
    }
  });

  it('a reply larger than 256 KiB is cut off, not buffered', async () => {
    const r = await call((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.alloc(2 * 1024 * 1024, 0x20));
    });
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.code, 'UNREACHABLE');
  });

  it('an unreachable gateway is UNREACHABLE', async () => {
    const a = parseInstallArgs(['--server', 'http://127.0.0.1:1', '--enroll-key', 'k', '--agent-id', 'pc-1']);
    assert.ok(a.ok);
    const r = await enroll(a.value, 'h');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.code, 'UNREACHABLE');
  });
});
