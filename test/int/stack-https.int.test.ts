/**
 * The launcher with GC_HTTPS=1 (issue 16 item 2): the whole stack comes up on https:// with the
 * self-signed certificate it made in the data directory, and says so in a note with the fingerprint;
 * a client that trusts that certificate reaches the gateway, with HSTS and a Secure cookie.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fingerprint } from '../../infra/launcher/https-cert.js';
import { type Stack, startStack } from '../../infra/launcher/stack.js';

function get(url: string, ca: Buffer | undefined, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: body ? 'POST' : 'GET', ...(ca ? { ca } : {}), headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('launcher with GC_HTTPS=1 (whole stack)', () => {
  let stack: Stack | undefined;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gc-stack-https-'));
    stack = await startStack({ dataDir, agent: false, fastPostgres: true, env: { GC_HTTPS: '1' } });
  });
  after(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the dashboard over HTTPS with its generated certificate and prints a note with the fingerprint', async () => {
    assert.ok(stack);
    assert.match(stack.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const certFile = join(dataDir, 'https', 'gateway.crt');
    assert.ok(stack.httpsNote?.includes(fingerprint(certFile)), stack.httpsNote);
    const ca = readFileSync(certFile);
    const health = await get(`${stack.url}/api/health`, ca);
    assert.equal(health.status, 200);
    assert.equal(health.headers['strict-transport-security'], 'max-age=31536000');
    const login = await get(`${stack.url}/api/auth/login`, ca, JSON.stringify(stack.admin));
    assert.equal(login.status, 200);
    assert.match(String(login.headers['set-cookie']), /; Secure$/);
    await assert.rejects(get(`${stack.url}/api/health`, undefined), /self-signed|self signed/i);
  });
});
