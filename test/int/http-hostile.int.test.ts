/**
 * Hostile HTTP against the gateway (issue 13): every refusal, the framework's and Node's included,
 * is the envelope {error_code, message, correlation_id} with the right status, and the gateway
 * still answers afterwards. Raw sockets, because fetch would refuse or normalise these requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Subscription } from '@nats-io/nats-core';
import { decode } from '../../proto/codec.js';
import { subjects } from '../../proto/subjects.js';
import { type TestGateway, startTestGateway } from '../support/gateway.js';
import { type RawResponse, rawHttp, rawRequest } from '../support/raw-http.js';

type Envelope = { error_code: string; message: string; correlation_id: string };

describe('gateway: hostile HTTP gets the error envelope', { timeout: 240_000 }, () => {
  let t: TestGateway;
  let admin: string;
  let loginFailures: Subscription;
  const failed: Record<string, unknown>[] = [];

  before(async () => {
    t = await startTestGateway({ dashboard: true });
    admin = await t.userToken('ada', 'admin');
    loginFailures = t.backbone.nc.subscribe(subjects.audit('login_failed'), {
      callback: (_e, m) => {
        const d = decode(m.data, m.subject);
        if (d.ok && d.value.audit) failed.push(JSON.parse(d.value.audit.detailsJson ?? '{}') as Record<string, unknown>);
      },
    });
  });
  after(async () => {
    loginFailures?.unsubscribe();
    await t?.stop();
  });

  const send = (method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}) => rawHttp(t.port, rawRequest(method, path, opts));
  const asAdmin = (path: string) => send('GET', path, { headers: { authorization: `Bearer ${admin}` } });
  const postJson = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    send('POST', path, { headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, ...headers }, body });

  /** The answer is exactly the envelope with `code` and `status`, and the gateway serves the next request. */
  async function expectEnvelope(res: RawResponse, status: number, code: string, message?: RegExp): Promise<Envelope> {
    assert.equal(res.status, status, `status of ${res.body.slice(0, 300)}`);
    assert.match(res.headers['content-type'] ?? '', /^application\/json/);
    const body = JSON.parse(res.body) as Envelope;
    assert.deepEqual(Object.keys(body).sort(), ['correlation_id', 'error_code', 'message'], res.body);
    assert.equal(body.error_code, code, res.body);
    assert.ok(body.message.length > 0 && body.correlation_id.length > 0, res.body);
    if (message) assert.match(body.message, message);
    const health = await send('GET', '/api/health');
    assert.equal(health.status, 200, 'the gateway still answers');
    return body;
  }

  it('refuses a login body over 64 KB (a 100k-character string) with 413', async () => {
    const big = JSON.stringify({ name: 'ada', password: 'x'.repeat(100_000) });
    await expectEnvelope(await postJson('/api/auth/login', big), 413, 'PAYLOAD_TOO_LARGE');
    // Other routes too.
    await expectEnvelope(await postJson('/api/machines/m1/switch-session', big), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses NUL in a login name with 400 naming the field, and audits the failure with a safe name', async () => {
    const r = await postJson('/api/auth/login', JSON.stringify({ name: 'ad\u0000a', password: 'whatever-it-is' }));
    await expectEnvelope(r, 400, 'VALIDATION_FAILED', /name/);
  });

  it('refuses a lone surrogate in a JSON body with 400, and login records the failure sanitised', async () => {
    const r = await postJson('/api/auth/login', '{"name":"eve\\ud800","password":"whatever-it-is"}');
    await expectEnvelope(r, 400, 'VALIDATION_FAILED', /name/);
    const deadline = Date.now() + 10_000;
    while (!failed.some((f) => String(f.name).startsWith('eve')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    const rec = failed.find((f) => String(f.name).startsWith('eve'));
    assert.ok(rec, `login_failed audited: ${JSON.stringify(failed)}`);
    assert.equal(rec.reason, 'invalid_input');
    assert.equal(String(rec.name), 'eve\ufffd', 'the name is recorded with the lone surrogate replaced');
    const switched = await postJson('/api/machines/m1/switch-session', '{"session_id":1,"viewer_id":"v\\udc00"}');
    await expectEnvelope(switched, 400, 'VALIDATION_FAILED', /viewer_id/);
  });

  it('refuses NUL in audit filters (query) on the list and export routes with 400', async () => {
    for (const path of ['/api/audit?agent=a%00b', '/api/audit?user=%00', '/api/audit/export?format=csv&agent=%00']) {
      const field = path.includes('user=') ? /user/ : /agent/;
      await expectEnvelope(await asAdmin(path), 400, 'VALIDATION_FAILED', field);
    }
  });

  it('refuses NUL in a path parameter with 400', async () => {
    const path = '/api/users/00000000-0000-4000-8000-000000000000/grants/a%00b';
    await expectEnvelope(await send('DELETE', path, { headers: { authorization: `Bearer ${admin}` } }), 400, 'VALIDATION_FAILED', /agentId/);
  });

  it('answers a 10,000-character agent id with 414', async () => {
    await expectEnvelope(await asAdmin(`/api/machines/${'a'.repeat(10_000)}`), 414, 'PAYLOAD_TOO_LARGE', /too long/);
  });

  it('answers a 100 KB URL and huge headers with 431', async () => {
    await expectEnvelope(await asAdmin(`/api/audit?agent=${'a'.repeat(100_000)}`), 431, 'PAYLOAD_TOO_LARGE');
    await expectEnvelope(await send('GET', '/api/health', { headers: { 'x-junk': 'j'.repeat(100_000) } }), 431, 'PAYLOAD_TOO_LARGE');
  });

  it('answers a bad percent-escape in a path with 400, and an unknown route with 404', async () => {
    await expectEnvelope(await send('GET', '/assets/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd'), 400, 'VALIDATION_FAILED');
    await expectEnvelope(await send('GET', '/api/no-such-route'), 404, 'NOT_FOUND');
  });

  it('answers malformed JSON with 400 and an unsupported content type with 415, on every route', async () => {
    await expectEnvelope(await postJson('/api/auth/login', '{"name":'), 400, 'VALIDATION_FAILED');
    const text = { 'content-type': 'text/plain' };
    await expectEnvelope(await postJson('/api/auth/login', 'name=ada', text), 415, 'VALIDATION_FAILED', /application\/json/);
    await expectEnvelope(await postJson('/api/machines/m1/switch-session', 'session_id=1', text), 415, 'VALIDATION_FAILED', /application\/json/);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    await expectEnvelope(await postJson('/api/auth/login', 'name=ada&password=x', form), 415, 'VALIDATION_FAILED', /application\/json/);
  });

  it('answers deep nesting with 400', async () => {
    const deep = `{"name":"ada","password":"p","x":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    await expectEnvelope(await postJson('/api/auth/login', deep), 400, 'VALIDATION_FAILED', /deep/);
    const deepObj = `{"session_id":1,"x":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`;
    await expectEnvelope(await postJson('/api/machines/m1/switch-session', deepObj), 400, 'VALIDATION_FAILED', /deep/);
  });

  it('answers 2^63-1 where a number is taken with 400', async () => {
    await expectEnvelope(await asAdmin('/api/audit?cursor=9223372036854775807'), 400, 'VALIDATION_FAILED', /cursor/);
    await expectEnvelope(await postJson('/api/machines/m1/switch-session', '{"session_id":9223372036854775807}'), 400, 'VALIDATION_FAILED', /session_id/);
    await expectEnvelope(await postJson('/api/enrollment-keys', '{"ttl_hours":9223372036854775807}'), 400, 'VALIDATION_FAILED', /ttl_hours/);
  });

  it('answers a plain request to a socket route with 426, and a handshake the ws library refuses with the envelope', async () => {
    // Before: an empty 404 for the first, a text/html page written by the ws library for the rest.
    for (const path of ['/ws/live', '/ws/viewer/m1']) {
      const plain = await send('GET', path, { headers: { authorization: `Bearer ${admin}` } });
      await expectEnvelope(plain, 426, 'VALIDATION_FAILED', /WebSocket/);
      assert.equal(plain.headers.upgrade, 'websocket');
      await expectEnvelope(await send('GET', path), 426, 'VALIDATION_FAILED', /WebSocket/);
      const handshake = { authorization: `Bearer ${admin}`, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
      const refused: [Record<string, string>, RegExp][] = [
        [{ ...handshake, upgrade: 'h2c' }, /Upgrade/],
        [{ ...handshake, 'sec-websocket-key': 'not a key\u00ff' }, /Key/],
        [{ ...handshake, 'sec-websocket-key': 'x'.repeat(10_000) }, /Key/],
        [{ ...handshake, 'sec-websocket-version': '-1' }, /Version/],
        [{ ...handshake, 'sec-websocket-version': '4294967295' }, /Version/],
        [{ ...handshake, 'sec-websocket-protocol': 'a,,b' }, /Protocol/],
      ];
      for (const [headers, message] of refused) {
        const res = await send('GET', path, { headers });
        const body = await expectEnvelope(res, 400, 'VALIDATION_FAILED', message);
        assert.equal(res.headers['x-correlation-id'], body.correlation_id);
      }
    }
  });
});
