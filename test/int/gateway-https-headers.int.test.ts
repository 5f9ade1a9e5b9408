/**
 * Issue 16 items 2 and 4 against the real gateway (buildApp over real NATS and PostgreSQL, real
 * sockets): HTTPS with a certificate (HSTS, Secure cookie, plain HTTP and unknown CAs refused), the
 * browser headers, GC_TRUST_PROXY (a forged X-Forwarded-For does not move the login rate limit
 * unless a proxy is trusted), the WebSocket Origin check, and the configuration's refusals.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareGatewayHttps } from '../../infra/launcher/https-cert.js';
import { decode } from '../../proto/codec.js';
import { subjects } from '../../proto/subjects.js';
import { type Gateway, buildApp } from '../../services/gateway/app.js';
import { type AuthWiring, withAuth } from '../../services/gateway/access-auth.js';
import { openGatewayBus } from '../../services/gateway/bus/gateway-bus.js';
import { processEventIds } from '../../services/gateway/bus/event-ids.js';
import { gatewayConfigSchema, loadGatewayConfig } from '../../services/gateway/config.js';
import { listenReadModels } from '../../services/gateway/read/notifications.js';
import { createLogger } from '../../proto/log/logger.js';
import { createUser } from '../../services/auth/users.js';
import { type Backbone, startBackbone } from '../support/servers.js';

const PASSWORD = 'correct horse battery';
type Reply = { status: number; headers: IncomingHttpHeaders; body: string };

/** One request over http or https (with `ca` trusted), resolving the status, headers and body. */
function call(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer } = {}): Promise<Reply> {
  const u = new URL(url);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: opts.method ?? 'GET', headers: opts.headers, ...(opts.ca ? { ca: opts.ca } : {}) });
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A WebSocket upgrade by hand (so Origin can be set or left out): 101, or the refusal's status and body. */
function upgrade(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const req = httpRequest(url, { agent: false, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers } });
  return new Promise((resolve, reject) => {
    req.on('upgrade', (res, socket) => {
      // A close frame (opcode 8, masked, empty), so the server ends the socket as a client would.
      socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const loginBody = (name: string, password: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });

describe('gateway: HTTPS, browser headers, proxy trust, WebSocket origin (real servers)', () => {
  let backbone: Backbone;
  let dir: string;
  const gateways: Gateway[] = [];

  async function start(env: Record<string, string>, wiring: Partial<AuthWiring> = {}): Promise<{ url: string; port: number }> {
    const config = gatewayConfigSchema.parse({
      natsUrl: backbone.nats.url,
      databaseUrl: backbone.pgs.url,
      port: 0,
      httpsCert: env.GC_HTTPS_CERT,
      httpsKey: env.GC_HTTPS_KEY,
      trustProxy: env.GC_TRUST_PROXY,
      denialFoldMs: env.GC_DENIAL_FOLD_MS,
    });
    const gw = await buildApp({
      config,
      db: backbone.db,
      bus: openGatewayBus(backbone.nc, backbone.js, {
        offlineAfterBeats: config.offlineAfterBeats,
        denialFoldMs: config.denialFoldMs,
        eventIds: processEventIds(),
        log: createLogger({ name: 'gateway', level: 'silent' }),
      }),
      notifications: listenReadModels(config.databaseUrl, () => {}),
      auth: withAuth({ cookieSecure: false, ...wiring }),
      dashboard: false,
    });
    gateways.push(gw);
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (gw.app.server.address() as AddressInfo).port;
    return { url: `${config.httpsCert ? 'https' : 'http'}://127.0.0.1:${port}`, port };
  }

  before(async () => {
    backbone = await startBackbone();
    dir = mkdtempSync(join(tmpdir(), 'gc-https-'));
    const r = await createUser(backbone.db, { name: 'tess', role: 'operator', password: PASSWORD });
    assert.ok(r.ok);
  });
  after(async () => {
    // A refused upgrade leaves no socket behind: the last gateway's close returning proves it.
    for (const g of gateways) await g.app.close();
    await backbone?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the browser headers: CSP without inline script, nosniff, no referrer, no framing; no HSTS over plain HTTP', async () => {
    const { url } = await start({});
    for (const path of ['/api/health', '/api/nope', '/api/docs/json']) {
      const r = await call(`${url}${path}`);
      const csp = String(r.headers['content-security-policy']);
      const directives = new Map(
        csp
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([k, ...v]) => [k, v] as const),
      );
      assert.deepEqual(directives.get('script-src'), ["'self'"], `${path}: scripts only from our origin, no inline, no eval`);
      assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
      assert.deepEqual(directives.get('object-src'), ["'none'"]);
      assert.deepEqual(directives.get('default-src'), ["'self'"]);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.equal(r.headers['strict-transport-security'], undefined, 'HSTS only over HTTPS');
    }
  });

  it('serves HTTPS with the given certificate: HSTS, a Secure session cookie; plain HTTP and an untrusted certificate are refused', async () => {
    const https = await prepareGatewayHttps(dir, { GC_HTTPS: '1' });
    assert.ok(https);
    assert.ok(https.note?.includes('self-signed'));
    assert.match(https.note ?? '', /SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    assert.equal(statSync(https.env.GC_HTTPS_KEY).mode & 0o777, 0o600, 'the key is owner-only');
    const ca = readFileSync(https.certFile);
    const { url, port } = await start(https.env);
    assert.ok(url.startsWith('https://'));

    const health = await call(`${url}/api/health`, { ca });
    assert.equal(health.status, 200);
    assert.equal(health.headers['strict-transport-security'], 'max-age=31536000');
    const login = await call(`${url}/api/auth/login`, { ...loginBody('tess', PASSWORD), ca });
    assert.equal(login.status, 200, login.body);
    assert.match(String(login.headers['set-cookie']), /; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);

    await assert.rejects(call(`${url}/api/health`), /self-signed|self signed|unable to verify/i, 'a client that does not trust the certificate refuses it');
    const plain = await call(`http://127.0.0.1:${port}/api/health`).then(
      (r) => r.status,
      (e: Error) => e.message,
    );
    assert.notEqual(plain, 200, 'no plain HTTP on the HTTPS port');
    // A second start keeps the certificate (same fingerprint), so a browser's exception stays valid.
    const again = await prepareGatewayHttps(dir, { GC_HTTPS: '1' });
    assert.equal(again?.note, https.note);
  });

  it('without GC_TRUST_PROXY a forged X-Forwarded-For does not change the login rate-limit key; with a trusted proxy it does', async () => {
    const limits = { login: { perIp: { max: 3, windowMs: 60_000 }, perName: { max: 1000, windowMs: 60_000 } } };
    const direct = await start({}, limits);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await call(`${direct.url}/api/auth/login`, { ...loginBody('nobody', 'wrong password'), headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i + 1}` } });
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 429], 'every forged address counts against the one socket address');

    const proxied = await start({ GC_TRUST_PROXY: '127.0.0.1' }, limits);
    const viaProxy: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await call(`${proxied.url}/api/auth/login`, { ...loginBody('nobody', 'wrong password'), headers: { 'content-type': 'application/json', 'x-forwarded-for': `203.0.113.${i + 1}` } });
      viaProxy.push(r.status);
    }
    assert.deepEqual(viaProxy, [401, 401, 401, 401], 'behind a trusted proxy each client address has its own limit');
    // And X-Forwarded-Proto: https makes the cookie Secure and adds HSTS only behind the trusted proxy.
    const fwd = { 'content-type': 'application/json', 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7' };
    const p = await call(`${proxied.url}/api/auth/login`, { ...loginBody('tess', PASSWORD), headers: fwd });
    assert.match(String(p.headers['set-cookie']), /; Secure$/);
    assert.equal(p.headers['strict-transport-security'], 'max-age=31536000');
    const d = await call(`${direct.url}/api/auth/login`, { ...loginBody('tess', PASSWORD), headers: { ...fwd, 'x-forwarded-for': '198.51.100.8' } });
    assert.equal(d.status, 429, 'the direct gateway still counts this socket address');
  });

  it('refuses a cross-origin WebSocket upgrade; the own origin and a client without Origin (bearer token) get through', async () => {
    const { url, port } = await start({});
    const login = await call(`${url}/api/auth/login`, loginBody('tess', PASSWORD));
    const token = (JSON.parse(login.body) as { token: string }).token;
    const auth = { authorization: `Bearer ${token}` };
    const evil = await upgrade(`${url}/ws/live`, { ...auth, origin: 'https://evil.example' });
    assert.equal(evil.status, 403);
    assert.equal((JSON.parse(evil.body) as { error_code: string }).error_code, 'ORIGIN_REFUSED');
    const cookie = await upgrade(`${url}/ws/live`, { cookie: `gc_session=${token}`, origin: 'null' });
    assert.equal(cookie.status, 403, 'an opaque origin is refused too');
    const otherPort = await upgrade(`${url}/ws/live`, { ...auth, origin: `http://127.0.0.1:${port + 1}` });
    assert.equal(otherPort.status, 403, 'another port is another origin');
    const own = await upgrade(`${url}/ws/live`, { cookie: `gc_session=${token}`, origin: `http://127.0.0.1:${port}` });
    assert.equal(own.status, 101);
    const script = await upgrade(`${url}/ws/live`, auth);
    assert.equal(script.status, 101, 'a non-browser client sends no Origin and is judged by its token');
  });

  it('refuses NUL or a lone surrogate in the second sign-in step with 400 and audits it as a failed login', async () => {
    // Refusals from one address are folded (the first at once, the rest as one counted row when the
    // window closes): a short window, so the second arrives well within the wait below.
    const { url } = await start({ GC_DENIAL_FOLD_MS: '300' });
    const seen: Record<string, unknown>[] = [];
    const sub = backbone.nc.subscribe(subjects.audit('login_failed'), {
      callback: (_e, m) => {
        const d = decode(m.data, m.subject);
        if (d.ok && d.value.audit) seen.push(JSON.parse(d.value.audit.detailsJson ?? '{}') as Record<string, unknown>);
      },
    });
    try {
      for (const body of ['{"challenge":"gcm_x","code":"12345\\u0000"}', '{"challenge":"gcm_\\ud800","code":"123456"}']) {
        const r = await call(`${url}/api/auth/login/mfa`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(r.status, 400, r.body);
        assert.equal((JSON.parse(r.body) as { error_code: string }).error_code, 'VALIDATION_FAILED');
      }
      const deadline = Date.now() + 10_000;
      while (seen.filter((f) => f.reason === 'invalid_input').length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
      assert.equal(seen.filter((f) => f.reason === 'invalid_input').length, 2, JSON.stringify(seen));
    } finally {
      sub.unsubscribe();
    }
  });

  it('refuses a bad HTTPS, proxy or MFA configuration at start with a message', async () => {
    const base = { NATS_URL: 'nats://x', DATABASE_URL: 'postgres://x' };
    const https = await prepareGatewayHttps(dir, { GC_HTTPS: '1' });
    assert.ok(https);
    assert.throws(() => loadGatewayConfig({ ...base, GC_HTTPS_CERT: https.env.GC_HTTPS_CERT }), /both GC_HTTPS_CERT and GC_HTTPS_KEY/);
    assert.throws(() => loadGatewayConfig({ ...base, GC_HTTPS_CERT: join(dir, 'missing.crt'), GC_HTTPS_KEY: https.env.GC_HTTPS_KEY }), /cannot read/);
    const other = join(dir, 'other.key');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', other]);
    assert.throws(() => loadGatewayConfig({ ...base, GC_HTTPS_CERT: https.env.GC_HTTPS_CERT, GC_HTTPS_KEY: other }), /is not the key of the certificate/);
    assert.throws(() => loadGatewayConfig({ ...base, GC_HTTPS_CERT: https.env.GC_HTTPS_KEY, GC_HTTPS_KEY: https.env.GC_HTTPS_KEY }), /not a PEM certificate/);
    assert.equal(loadGatewayConfig({ ...base, ...https.env }).httpsCert, https.env.GC_HTTPS_CERT);

    assert.equal(loadGatewayConfig(base).trustProxy, false);
    for (const off of ['', '0', 'false', 'off']) assert.equal(loadGatewayConfig({ ...base, GC_TRUST_PROXY: off }).trustProxy, false);
    assert.throws(() => loadGatewayConfig({ ...base, GC_TRUST_PROXY: '2' }), /GC_TRUST_PROXY/, 'a hop count cannot tell the proxy from a client');
    assert.equal(loadGatewayConfig({ ...base, GC_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, '10.0.0.0/8, 127.0.0.1');
    assert.throws(() => loadGatewayConfig({ ...base, GC_TRUST_PROXY: 'x\u0000' }), /GC_TRUST_PROXY/);

    assert.deepEqual(loadGatewayConfig(base).mfaRequiredRoles, []);
    assert.deepEqual(loadGatewayConfig({ ...base, GC_MFA_REQUIRED: 'admin, operator,admin' }).mfaRequiredRoles, ['admin', 'operator']);
    assert.throws(() => loadGatewayConfig({ ...base, GC_MFA_REQUIRED: 'admin,root' }), /unknown roles root/);

    // GC_AUTH_CACHE_MS: the bound on a revocation made elsewhere; never negative, never long.
    assert.equal(loadGatewayConfig(base).authCacheMs, 1000);
    assert.equal(loadGatewayConfig({ ...base, GC_AUTH_CACHE_MS: '0' }).authCacheMs, 0);
    for (const bad of ['-1', '10001', String(2 ** 31 - 1), String(2 ** 32 - 1), '9223372036854775807', '1.5', 'x', '1\u0000']) {
      assert.throws(() => loadGatewayConfig({ ...base, GC_AUTH_CACHE_MS: bad }), /authCacheMs/, bad);
    }
  });
});
