/**
 * TLS for NATS against a real nats-server (issue 16, item 1): a plain-text client is refused, a
 * client that trusts another CA is refused, a client with the deployment's CA works; our clients
 * never fall back to plain text; the launcher's CA and certificate are made once, reused, renewed.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectBus } from '../../proto/bus/connect.js';
import { natsCaFromEnv, readNatsCa } from '../../proto/bus/nats-ca.js';
import { loadAgentConfig } from '../../agent/config.js';
import { type NatsAuthSetup, prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { ensureLocalTls, operatorTls, tlsDefaults } from '../../infra/servers/tls-ca.js';
import { freePort } from '../../infra/servers/free-port.js';
import { natsUrl, startNatsServer } from '../../infra/servers/nats-server.js';
import { type TestNats, type TestTls, makeTestTls, startTestNats } from '../support/servers.js';

const fingerprint = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;
const validTo = (file: string) => new Date(new X509Certificate(readFileSync(file)).validTo);

/** Speaks the NATS protocol in plain text over a raw socket; what the server said until it closed. */
function plainTextClient(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let said = '';
    let sent = false;
    const s = tcpConnect(port, '127.0.0.1');
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      said += d;
      // After INFO: what a client without TLS sends (credentials would follow CONNECT).
      if (!sent && said.includes('\r\n')) {
        sent = true;
        s.write('CONNECT {"verbose":false,"pedantic":false,"tls_required":false,"name":"plain"}\r\nPING\r\n');
      }
    });
    s.on('error', (e) => (said ? resolve(said) : reject(e)));
    s.on('close', () => resolve(said));
    setTimeout(() => {
      s.destroy();
      reject(new Error(`the server neither closed nor answered: ${said}`));
    }, 10_000).unref();
  });
}

describe('TLS for NATS (real nats-server)', { timeout: 120_000 }, () => {
  let tls: TestTls;
  let other: TestTls;
  let authDir: string;
  let setup: NatsAuthSetup;
  let nats: TestNats;
  let plain: TestNats;

  before(async () => {
    [tls, other] = await Promise.all([makeTestTls(), makeTestTls()]);
    authDir = mkdtempSync(join(tmpdir(), 'gc-tls-auth-'));
    setup = await prepareNatsAuth(authDir, { caFile: tls.caFile });
    [nats, plain] = await Promise.all([startTestNats(setup.serverConfig, { tls }), startTestNats(setup.serverConfig)]);
  });
  after(async () => {
    await Promise.all([nats?.stop(), plain?.stop()]);
    tls?.remove();
    other?.remove();
    rmSync(authDir, { recursive: true, force: true });
  });

  it("a client with the deployment's CA connects over TLS and messages flow", async () => {
    assert.match(nats.url, /^tls:\/\/127\.0\.0\.1:\d+$/);
    const nc = await connectBus({ servers: nats.url, name: 'tls-ok', credsFile: await setup.credsFor('launcher'), caFile: tls.caFile, once: true });
    try {
      assert.equal(nc.info?.tls_required, true);
      const sub = nc.subscribe('gc.tls.probe', { max: 1 });
      nc.publish('gc.tls.probe', new TextEncoder().encode('over tls'));
      for await (const m of sub) assert.equal(m.string(), 'over tls');
    } finally {
      await nc.close();
    }
  });

  it('a plain-text client is refused: after INFO (tls_required) the server hangs up, no PONG', async () => {
    const said = await plainTextClient(nats.port);
    assert.match(said, /^INFO \{.*"tls_required":true/);
    assert.deepEqual(said.split('\r\n').filter((l) => l.trim()).length, 1, `only INFO: ${said}`);
    assert.doesNotMatch(said, /PONG|\+OK|-ERR/);
    // The same raw client on a plain-text server is read: its CONNECT (no credentials) is judged, so
    // the probe can tell a server that parses clear text from one that refuses it.
    assert.match(await plainTextClient(plain.port), /-ERR 'Authorization Violation'/);
  });

  it("a client that trusts another CA (or only the system's) is refused", async () => {
    const creds = await setup.credsFor('launcher');
    await assert.rejects(connectBus({ servers: nats.url, name: 'other-ca', credsFile: creds, caFile: other.caFile, once: true }), /certificate|self[- ]signed/i);
    await assert.rejects(connectBus({ servers: nats.url, name: 'system-ca', credsFile: creds, once: true }), /certificate|self[- ]signed/i);
  });

  it('a long-running client (no `once`) stops at once on a certificate it cannot trust, naming the CA to check', async () => {
    // Agents and services wait for a server that is not up yet; a wrong CA is not worth waiting for.
    const creds = await setup.credsFor('launcher');
    await assert.rejects(connectBus({ servers: nats.url, name: 'other-ca-service', credsFile: creds, caFile: other.caFile }), (e: Error) =>
      /cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+: .*(certificate|self[- ]signed).*GC_NATS_CA/i.test(e.message),
    );
    await assert.rejects(connectBus({ servers: plain.url, name: 'no-downgrade-service', credsFile: creds, caFile: tls.caFile }), /this client requires TLS/);
  });

  it('a long-running client still waits for a server that is not up yet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-nats-late-'));
    const port = await freePort();
    const waiting = connectBus({ servers: natsUrl(port, true), name: 'late', credsFile: await setup.credsFor('launcher'), caFile: tls.caFile });
    let settled = false;
    void waiting.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(settled, false, 'nothing listens yet: the client must keep waiting, not fail');
    const late = await startNatsServer({ dir, port, extraConfig: setup.serverConfig, tls });
    try {
      const nc = await waiting;
      assert.equal(nc.info?.tls_required, true);
      await nc.close();
    } finally {
      await late.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('our clients never fall back to plain text', async () => {
    const creds = await setup.credsFor('launcher');
    // Told the CA, the client refuses a server that offers no TLS instead of talking in clear.
    await assert.rejects(connectBus({ servers: plain.url, name: 'no-downgrade', credsFile: creds, caFile: tls.caFile, once: true }), /does not support 'tls'/);
    await assert.rejects(connectBus({ servers: plain.url.replace('nats://', 'tls://'), name: 'no-downgrade', credsFile: creds, once: true }), /does not support 'tls'/);
    // Plain text is for loopback only (the test harness): a remote URL without TLS is refused before dialing.
    await assert.rejects(connectBus({ servers: 'nats://192.0.2.1:4222', name: 'remote-plain', once: true }), /refusing plain-text NATS to nats:\/\/192\.0\.2\.1:4222/);
    await assert.rejects(connectBus({ servers: ['nats://127.0.0.1:4222', 'gc.example:4222'], name: 'mixed', once: true }), /refusing plain-text/);
  });

  it('the CA file setting refuses what is not a CA file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-tls-bad-'));
    try {
      writeFileSync(join(dir, 'empty.pem'), '');
      writeFileSync(join(dir, 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
      writeFileSync(join(dir, 'key.pem'), readFileSync(join(tls.dir, 'ca.key')));
      for (const [path, why] of [
        [join(dir, 'missing.pem'), /cannot read .*ENOENT/],
        [dir, /cannot read .*EISDIR/],
        [join(dir, 'empty.pem'), /no PEM certificate/],
        [join(dir, 'key.pem'), /no PEM certificate/],
        [join(dir, 'garbage.pem'), /cannot be parsed/],
        ['x\ud800', /not a usable file path/],
        ['a\0b', /not a usable file path/],
        ['/'.repeat(100_000), /not a usable file path/],
        ['', /not a usable file path/],
      ] as const) {
        const r = readNatsCa(path);
        assert.equal(r.ok, false, path.slice(0, 40));
        if (!r.ok) assert.match(r.error.message, why);
      }
      assert.ok(readNatsCa(tls.caFile).ok);
      // The agent's GC_NATS_CA and the services' NATS_CA are checked at start-up, not at first connect.
      const agentEnv = { GC_AGENT_ID: 'pc-1', NATS_URL: 'tls://nats.example.test:4222', GC_AGENT_STATE_DIR: dir };
      assert.throws(() => loadAgentConfig({ ...agentEnv, GC_NATS_CA: join(dir, 'garbage.pem') }), /GC_NATS_CA .* cannot be parsed/);
      assert.throws(() => loadAgentConfig({ ...agentEnv, GC_NATS_CA: 'x\ud800' }), /GC_NATS_CA is not a usable file path/);
      assert.equal(loadAgentConfig({ ...agentEnv, GC_NATS_CA: tls.caFile }).natsCa, tls.caFile);
      assert.equal(loadAgentConfig({ GC_AGENT_ID: 'pc-1', GC_AGENT_STATE_DIR: dir }).natsUrl, 'tls://127.0.0.1:4222', 'TLS by default');
      const svc = natsCaFromEnv({ NATS_CA: join(dir, 'empty.pem') });
      assert.equal(svc.ok, false);
      assert.deepEqual(natsCaFromEnv({}), { ok: true, value: undefined });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a revocation is pushed to the TLS server (the account update speaks TLS too)', async () => {
    const issued = await setup.issueAgentCreds('tls-agent');
    assert.ok(issued.ok);
    const r = await setup.revokeAgent('tls-agent', nats.url);
    assert.equal(r.ok, true, r.ok ? '' : r.error.message);
    assert.equal(setup.natsCaPem(), readFileSync(tls.caFile, 'utf8'));
  });
});

describe("the launcher's CA and server certificate", () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'gc-tls-ca-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('are made on first start (keys 0600), reused on later starts, renewed when about to expire', async () => {
    const dir = tmp();
    const f = await ensureLocalTls(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(f.keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
    const cert = new X509Certificate(readFileSync(f.certFile));
    const ca = new X509Certificate(readFileSync(f.caFile));
    assert.ok(ca.ca, 'the CA is a CA');
    assert.ok(!cert.ca, 'the server certificate is not');
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    assert.ok(cert.checkIP('127.0.0.1') && cert.checkHost('localhost'));

    const [firstCert, firstCa] = [fingerprint(f.certFile), fingerprint(f.caFile)];
    const again = await ensureLocalTls(dir);
    assert.equal(fingerprint(again.certFile), firstCert, 'reused');
    assert.equal(fingerprint(again.caFile), firstCa);

    // Inside the renewal window: a new server certificate under the same CA.
    const late = new Date(validTo(f.certFile).getTime() - (tlsDefaults.renewBeforeDays - 1) * 86_400_000);
    const renewed = await ensureLocalTls(dir, { now: late });
    assert.notEqual(fingerprint(renewed.certFile), firstCert, 'renewed');
    assert.equal(fingerprint(renewed.caFile), firstCa, 'same CA');
    // A day earlier it would have been kept.
    const kept = fingerprint(renewed.certFile);
    await ensureLocalTls(dir, { now: new Date(validTo(renewed.certFile).getTime() - (tlsDefaults.renewBeforeDays + 1) * 86_400_000) });
    assert.equal(fingerprint(renewed.certFile), kept);

    // The CA itself expired: a new CA and a new server certificate under it.
    const caGone = new Date(validTo(f.caFile).getTime() + 86_400_000);
    const fresh = await ensureLocalTls(dir, { now: caGone });
    assert.notEqual(fingerprint(fresh.caFile), firstCa);
    const freshCert = new X509Certificate(readFileSync(fresh.certFile));
    assert.ok(freshCert.verify(new X509Certificate(readFileSync(fresh.caFile)).publicKey));
  });

  it('are re-issued when a key file is damaged or the names change', async () => {
    const dir = tmp();
    const f = await ensureLocalTls(dir, { names: ['127.0.0.1'] });
    const first = fingerprint(f.certFile);
    assert.equal(fingerprint((await ensureLocalTls(dir, { names: ['127.0.0.1'] })).certFile), first);
    writeFileSync(f.keyFile, 'not a key');
    assert.notEqual(fingerprint((await ensureLocalTls(dir, { names: ['127.0.0.1'] })).certFile), first);
    const named = await ensureLocalTls(dir, { names: ['127.0.0.1', 'nats.example.test'] });
    assert.ok(new X509Certificate(readFileSync(named.certFile)).checkHost('nats.example.test'));
    for (const bad of ['evil\nsubjectAltName = DNS:*', 'x\ud800', '-', '', 'a'.repeat(100_000)]) {
      await assert.rejects(ensureLocalTls(dir, { names: ['127.0.0.1', bad] }), /names are IPv4 addresses or DNS names/, bad.slice(0, 30));
    }
    await assert.rejects(ensureLocalTls(dir, { names: [] }), /names are IPv4/);
  });

  it("the operator's GC_TLS_* files are checked: all three, matching key, chained to the CA, naming 127.0.0.1", async () => {
    const mine = await ensureLocalTls(tmp());
    const theirs = await ensureLocalTls(tmp());
    const remoteOnly = await ensureLocalTls(tmp(), { names: ['nats.example.test'] });
    const env = (cert: string, key: string, ca: string) => ({ GC_TLS_CERT: cert, GC_TLS_KEY: key, GC_TLS_CA: ca });
    assert.equal(await operatorTls({}), undefined);
    const ok = await operatorTls(env(mine.certFile, mine.keyFile, mine.caFile));
    assert.deepEqual(ok, { certFile: mine.certFile, keyFile: mine.keyFile, caFile: mine.caFile, source: 'operator' });
    await assert.rejects(operatorTls({ GC_TLS_CERT: mine.certFile, GC_TLS_KEY: mine.keyFile }), /go together; missing GC_TLS_CA/);
    await assert.rejects(operatorTls(env(mine.certFile, mine.keyFile, theirs.caFile)), /does not chain to a certificate in GC_TLS_CA/);
    await assert.rejects(operatorTls(env(mine.certFile, theirs.keyFile, mine.caFile)), /its key does not match/);
    await assert.rejects(operatorTls(env(remoteOnly.certFile, remoteOnly.keyFile, remoteOnly.caFile)), /does not name 127\.0\.0\.1/);
    await assert.rejects(operatorTls(env(`${mine.certFile}.missing`, mine.keyFile, mine.caFile)), /GC_TLS_CERT: cannot read/);
    await assert.rejects(operatorTls(env(mine.certFile, mine.keyFile, mine.caFile), ['127.0.0.1'], new Date(Date.now() + 10 * 365 * 86_400_000)), /expires/);
  });
});
