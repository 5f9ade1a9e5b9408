/**
 * The inbox tree a client connects with comes from its credentials (proto/bus/connect.ts), for
 * agents as for services: the permissions in its signed JWT, never text around it. A forged or
 * damaged .creds gives no prefix (then the server's permissions refuse the default inbox).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inboxPrefixOfCreds } from '../../proto/bus/connect.js';
import { type NatsAuthSetup, prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { inboxPrefixFor } from '../../infra/nats-auth/permissions.js';

const jwtOf = (creds: string) => /-----BEGIN NATS USER JWT-----\s+(\S+)\s+/.exec(creds)?.[1] ?? '';

describe('inbox prefix from credentials', () => {
  let dir: string;
  let setup: NatsAuthSetup;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-inbox-prefix-'));
    setup = await prepareNatsAuth(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("an agent's is its own tree, a service's its kind's; the launcher (allowed everything) names none", async () => {
    const a = await setup.issueAgentCreds('pc-7');
    assert.ok(a.ok);
    assert.equal(inboxPrefixOfCreds(a.value.creds), '_INBOX.a.pc-7');
    for (const kind of ['gateway', 'projections', 'automation', 'auditor'] as const) {
      assert.equal(inboxPrefixOfCreds(readFileSync(await setup.credsFor(kind), 'utf8')), inboxPrefixFor(kind), kind);
    }
    assert.equal(inboxPrefixOfCreds(readFileSync(await setup.credsFor('launcher'), 'utf8')), undefined);
  });

  it("a JWT edited to claim another identity's inbox (signature no longer matching), or garbage, gives no prefix", async () => {
    const a = await setup.issueAgentCreds('pc-8');
    assert.ok(a.ok);
    const jwt = jwtOf(a.value.creds);
    const [h, p, sig] = jwt.split('.');
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as { nats: { sub: { allow: string[] } } };
    for (const other of ['_INBOX.gateway', '_INBOX.a.pc-7', '_INBOX.*', '_INBOX']) {
      claims.nats.sub.allow = [`${other}.>`];
      const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.');
      assert.equal(inboxPrefixOfCreds(a.value.creds.replace(jwt, forged)), undefined, other);
    }
    for (const bad of ['', 'garbage', '\u0000', 'x\ud800', 'y'.repeat(100_000), a.value.creds.replace(jwt, `${jwt.slice(0, -5)}AAAAA`), a.value.creds.replace(jwt, 'a.b.c')]) {
      assert.equal(inboxPrefixOfCreds(bad), undefined, bad.slice(0, 30));
    }
  });
});
