/**
 * Batch issuing of agent credentials (infra/nats-auth/agent-creds.ts) against a real nats-server: the
 * identity registry's rules hold per id inside a batch, and every credential issued in a batch
 * authenticates as its own agent and only as it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode } from '@nats-io/jwt';
import { type NatsConnection, PermissionViolationError, credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { connectBus } from '../../proto/bus/connect.js';
import { agentInboxPrefix, agentPermissions } from '../../infra/nats-auth/permissions.js';
import { type NatsAuthSetup, prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { type TestNats, startTestNats } from '../support/servers.js';

const te = new TextEncoder();

async function permissionError(nc: NatsConnection, subject: string): Promise<PermissionViolationError> {
  for await (const s of nc.status()) {
    if (s.type === 'error' && s.error instanceof PermissionViolationError && s.error.subject === subject) return s.error;
  }
  throw new Error('connection closed before the permission error arrived');
}

const jwtOf = (creds: string): string => /-----BEGIN NATS USER JWT-----\s+(\S+)\s+/.exec(creds)?.[1] ?? '';

describe('agent credentials issued in a batch (real nats-server)', () => {
  let authDir: string;
  let setup: NatsAuthSetup;
  let nats: TestNats;
  let launcher: NatsConnection;
  const open: NatsConnection[] = [];

  before(async () => {
    authDir = mkdtempSync(join(tmpdir(), 'gc-creds-batch-'));
    setup = await prepareNatsAuth(authDir);
    nats = await startTestNats(setup.serverConfig);
    launcher = await connectBus({ servers: nats.url, name: 'launcher', credsFile: await setup.credsFor('launcher') });
    open.push(launcher);
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => {});
    await nats?.stop();
    rmSync(authDir, { recursive: true, force: true });
  });

  it('applies the registry rules to each id and leaves the good ones issued', async () => {
    const pre = await setup.issueAgentCreds('m-old');
    assert.ok(pre.ok);
    const ids = ['m-1', 'gateway', 'Launcher', 'm-2', 'm-1', 'bad.id', 'x\ud800', 'nul\u0000', 'y'.repeat(100_000), 'm-old', ''];
    const rs = await setup.issueAgentCredsBatch(ids);
    assert.equal(rs.length, ids.length, 'one result per id, in order');
    const codes = rs.map((r) => (r.ok ? 'ok' : r.error.code));
    assert.deepEqual(codes, ['ok', 'CONFLICT', 'CONFLICT', 'ok', 'CONFLICT', 'INVALID_ID', 'INVALID_ID', 'INVALID_ID', 'INVALID_ID', 'CONFLICT', 'INVALID_ID']);
    const keysOf = (id: string) =>
      readFileSync(join(authDir, 'agents', `${id}.keys`), 'utf8')
        .split('\n')
        .filter(Boolean);
    // The duplicate got nothing: m-1 holds exactly the one key it was given.
    const m1 = rs[0]!;
    assert.ok(m1.ok);
    assert.deepEqual(keysOf('m-1'), [m1.value.userKey]);
    assert.deepEqual(keysOf('m-old'), [pre.value.userKey], 'an enrolled id is not re-keyed without reissue');
    const again = await setup.issueAgentCredsBatch(['m-1', 'm-3']);
    assert.deepEqual(
      again.map((r) => (r.ok ? 'ok' : r.error.code)),
      ['CONFLICT', 'ok'],
    );
  });

  it("one id's file-system failure is that id's result: the rest of the batch is issued and handed out", async () => {
    // A keys file that cannot be read (a directory in its place): EISDIR for that id alone.
    mkdirSync(join(authDir, 'agents', 'broken-1.keys'), { recursive: true });
    const ids = [...Array.from({ length: 100 }, (_, i) => `fs-${i}`), 'broken-1', 'fs-last'];
    const rs = await setup.issueAgentCredsBatch(ids);
    const codes = rs.map((r) => (r.ok ? 'ok' : r.error.code));
    assert.deepEqual(codes, [...Array.from({ length: 100 }, () => 'ok'), 'INTERNAL', 'ok']);
    const broken = rs[100]!;
    assert.ok(!broken.ok && /broken-1/.test(broken.error.message) && /EISDIR/.test(broken.error.message), JSON.stringify(broken));
    // Every id issued was handed its credentials, and they are the ones on file.
    for (const [i, r] of rs.entries()) {
      if (!r.ok) continue;
      assert.deepEqual(
        readFileSync(join(authDir, 'agents', `${ids[i]}.keys`), 'utf8')
          .split('\n')
          .filter(Boolean),
        [r.value.userKey],
      );
    }
    // The registry lock was held to the end: an issue queued behind the batch sees all of it.
    const after = await setup.issueAgentCredsBatch(['fs-0', 'fs-99']);
    assert.deepEqual(
      after.map((r) => (r.ok ? 'ok' : r.error.code)),
      ['CONFLICT', 'CONFLICT'],
    );
  });

  it('re-keys only on purpose, keeping every old key on file for revocation', async () => {
    const first = await setup.issueAgentCredsBatch(['r-1', 'r-2']);
    const second = await setup.issueAgentCredsBatch(['r-1', 'r-2'], { reissue: true });
    for (const [i, id] of ['r-1', 'r-2'].entries()) {
      const a = first[i]!;
      const b = second[i]!;
      assert.ok(a.ok && b.ok);
      assert.notEqual(a.value.userKey, b.value.userKey);
      assert.deepEqual(
        readFileSync(join(authDir, 'agents', `${id}.keys`), 'utf8')
          .split('\n')
          .filter(Boolean),
        [a.value.userKey, b.value.userKey],
      );
    }
  });

  it('every credential of a batch signs in as its own agent, with that agent’s permissions only', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `fleet-${i}`);
    const rs = await setup.issueAgentCredsBatch(ids);
    const keys = new Set<string>();
    for (const [i, r] of rs.entries()) {
      assert.ok(r.ok, `fleet-${i} issued`);
      // decode() checks the JWT's signature (nkeys' own verifier, not the OpenSSL signer that made it).
      const claims = decode<{ pub: { allow: string[] } }>(jwtOf(r.value.creds));
      assert.equal(claims.sub, r.value.userKey);
      assert.deepEqual(claims.nats.pub?.allow, agentPermissions(`fleet-${i}`).pub?.allow);
      assert.ok(claims.nats.pub?.allow.includes(`gc.agent.fleet-${i}.>`));
      keys.add(r.value.userKey);
    }
    assert.equal(keys.size, ids.length, 'one key per agent');
    for (const i of [0, 17, 39]) {
      const r = rs[i]!;
      assert.ok(r.ok);
      const nc = await connect({ servers: nats.url, authenticator: credsAuthenticator(te.encode(r.value.creds)), inboxPrefix: agentInboxPrefix(`fleet-${i}`), maxReconnectAttempts: 0 });
      open.push(nc);
      const other = `gc.agent.fleet-${(i + 1) % ids.length}.status`;
      const denied = permissionError(nc, other);
      const own = launcher.subscribe(`gc.agent.fleet-${i}.status`, { max: 1 });
      await launcher.flush();
      nc.publish(other, te.encode('speaking for another'));
      assert.equal((await denied).operation, 'publish');
      nc.publish(`gc.agent.fleet-${i}.status`, te.encode('self'));
      for await (const m of own) assert.equal(m.string(), 'self');
    }
  });
});
