/**
 * The shell's admin commands leave the audit row their HTTP route leaves (same event type and
 * details; the actor is the OS user, `os:<name>`), seen through `audit replay --json` as an
 * auditor sees it, and `audit verify` stays clean. When the audit log does not take the event,
 * nothing is changed. Commands are typed as a person would, with only GC_DATA_DIR set.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { type Api, eventually, login } from '../support/api.js';
import { guruconnect } from '../support/guruconnect-cli.js';

const osUser = userInfo().username;

type Row = { event_type: string; user_id: string | null; user_name: string | null; details: Record<string, unknown> };

describe('CLI admin commands are audited like their HTTP routes (whole stack)', () => {
  let dataDir: string;
  let stack: Stack;
  let admin: Api;
  let db: pg.Client;

  const replay = async (types: string): Promise<Row[]> => {
    const r = await guruconnect(dataDir, ['audit', 'replay', '--type', types, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row);
  };
  const userId = async (name: string) => (await db.query<{ id: string }>('SELECT id FROM users WHERE name = $1', [name])).rows[0]?.id;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gc-cli-audit-'));
    stack = await startStack({ dataDir, fastPostgres: true, agent: false });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('users create, users create --service, users grant and enrollment-key create each leave the route’s row, as os:<user>', async () => {
    // The same three actions through the API, for the rows to compare with.
    const u = await admin.post<{ user: { id: string } }>('/api/users', { name: 'api-olga', role: 'operator' });
    assert.equal(u.status, 201, JSON.stringify(u.body));
    assert.equal((await admin.post(`/api/users/${u.body.user.id}/grants`, { agent_id: '*' })).status, 201);
    assert.equal((await admin.post('/api/enrollment-keys', { site: 'api-site' })).status, 201);

    const created = await guruconnect(dataDir, ['users', 'create', '--name', 'cli-carl', '--role', 'operator']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^password: /m);
    const bot = await guruconnect(dataDir, ['users', 'create', '--name', 'cli-bot', '--role', 'admin', '--service']);
    assert.equal(bot.code, 0, bot.stderr);
    const granted = await guruconnect(dataDir, ['users', 'grant', '--name', 'cli-carl', '--machine', '*']);
    assert.equal(granted.code, 0, granted.stderr);
    const key = await guruconnect(dataDir, ['enrollment-key', 'create', '--site', 'cli-site', '--reusable', '--ttl-hours', '2']);
    assert.equal(key.code, 0, key.stderr);
    const keyId = /enrollment key (\S+)/.exec(key.stdout)?.[1];
    assert.ok(keyId, key.stdout);

    const rows = await eventually(
      async () => {
        const r = await replay('user_created,machine_granted,enrollment_key_created');
        return r.length >= 7 ? r : undefined;
      },
      'seven admin rows replayed',
      60_000,
      500,
    );
    const carl = await userId('cli-carl');
    const botId = await userId('cli-bot');
    const expiresAt = (await db.query<{ expires_at: Date }>('SELECT expires_at FROM enrollment_keys WHERE id = $1', [keyId])).rows[0]!.expires_at.toISOString();
    const fromCli = rows.filter((r) => r.user_id === `os:${osUser}`);
    assert.deepEqual(
      fromCli.map(({ event_type, user_id, user_name, details }) => ({ event_type, user_id, user_name, details })),
      [
        { event_type: 'user_created', user_id: `os:${osUser}`, user_name: osUser, details: { user_id: carl, name: 'cli-carl', role: 'operator' } },
        { event_type: 'user_created', user_id: `os:${osUser}`, user_name: osUser, details: { user_id: botId, name: 'cli-bot', role: 'admin', service: true } },
        { event_type: 'machine_granted', user_id: `os:${osUser}`, user_name: osUser, details: { user_id: carl, agent_id: '*' } },
        { event_type: 'enrollment_key_created', user_id: `os:${osUser}`, user_name: osUser, details: { key_id: keyId, site: 'cli-site', reusable: true, expires_at: expiresAt } },
      ],
    );
    // One kind of row whichever door: the API's rows carry the same detail keys.
    const keysOf = (rs: Row[], type: string) => rs.filter((r) => r.event_type === type && r.details.service === undefined).map((r) => Object.keys(r.details).sort());
    const fromApi = rows.filter((r) => r.user_name === stack.admin.name);
    for (const type of ['user_created', 'machine_granted', 'enrollment_key_created']) {
      assert.equal(keysOf(fromApi, type).length, 1, `${type} from the API`);
      assert.deepEqual(keysOf(fromCli, type), keysOf(fromApi, type), type);
    }

    const verify = await eventually(
      async () => {
        const r = await guruconnect(dataDir, ['audit', 'verify', '--json']);
        return r.code === 0 ? r : undefined;
      },
      'audit verify exit 0',
      60_000,
      1000,
    );
    const report = JSON.parse(verify.stdout) as { ok: boolean; findings: unknown[] };
    assert.equal(report.ok, true, verify.stdout);
    assert.deepEqual(report.findings, []);
  });

  it('a refused command records nothing: an existing name, an unknown user, hostile ids and bounds (the in-process hostile values: auth-plugin.int)', async () => {
    const before = (await replay('user_created,machine_granted,enrollment_key_created')).length;
    const refused: [string[], number][] = [
      [['users', 'create', '--name', 'cli-carl', '--role', 'operator'], 1],
      [['users', 'grant', '--name', 'nobody-at-all', '--machine', '*'], 1],
      [['users', 'grant', '--name', 'cli-carl', '--machine', 'a.b>'], 1],
      [['users', 'grant', '--name', 'cli-carl', '--machine', 'x'.repeat(100_000)], 1],
      [['users', 'create', '--name', 'x', '--role', 'king'], 2],
      [['enrollment-key', 'create', '--ttl-hours', String(2 ** 31 - 1)], 2],
    ];
    for (const [argv, code] of refused) {
      const r = await guruconnect(dataDir, argv);
      assert.equal(r.code, code, `${argv.join(' ').slice(0, 80)}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /at .+\.ts:\d+/, 'no stack trace');
    }
    // A marker row after them: once it is replayed, anything the refusals had published would be too.
    assert.equal((await guruconnect(dataDir, ['users', 'grant', '--name', 'cli-carl', '--machine', 'marker-agent'])).code, 0);
    const rows = await eventually(
      async () => {
        const r = await replay('user_created,machine_granted,enrollment_key_created');
        return r.some((x) => x.details.agent_id === 'marker-agent') ? r : undefined;
      },
      'the marker grant replayed',
      60_000,
      500,
    );
    assert.equal(rows.length, before + 1, JSON.stringify(rows.slice(before)));
  });

  it('when the audit log does not store the event, nothing is changed (2, one line)', async () => {
    // The auditor identity connects but may not publish: the event is refused after the change was made in the transaction.
    const auditorCreds = await stack.credsFor('auditor');
    const denied = await guruconnect(dataDir, ['users', 'create', '--name', 'cli-unaudited', '--role', 'admin'], { NATS_CREDS: auditorCreds });
    assert.equal(denied.code, 2, denied.stderr + denied.stdout);
    assert.equal(denied.stderr.trim().split('\n').length, 1, denied.stderr);
    assert.match(denied.stderr, /audit log did not store the event.*nothing was changed/);
    assert.doesNotMatch(denied.stdout, /password/, 'no password is printed for a user that was not made');
    assert.equal(await userId('cli-unaudited'), undefined, 'the user was rolled back');

    // NATS down: refused before the database is touched.
    await stack.stopNats();
    try {
      for (const argv of [
        ['users', 'create', '--name', 'cli-unaudited', '--role', 'admin'],
        ['users', 'grant', '--name', 'cli-carl', '--machine', 'down-agent'],
        ['enrollment-key', 'create', '--site', 'down-site'],
      ]) {
        const r = await guruconnect(dataDir, argv);
        assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, /audit log unreachable.*nothing was changed; start NATS/);
      }
    } finally {
      await stack.startNats();
    }
    assert.equal(await userId('cli-unaudited'), undefined);
    assert.equal((await db.query("SELECT 1 FROM machine_grants WHERE agent_id = 'down-agent'")).rowCount, 0);
    assert.equal((await db.query("SELECT 1 FROM enrollment_keys WHERE site = 'down-site'")).rowCount, 0);
  });
});
