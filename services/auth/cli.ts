/**
 * Technician administration from the shell (the first admin is created here or by the launcher):
 *   users create --name N --role R        password from GC_PASSWORD, else generated and printed once
 *   users create --name N --role R --service   a service account: no password, API tokens only
 *   users grant --name N --machine <agentId|*>
 *   enrollment-key create [--site S] [--reusable] [--ttl-hours H]
 * The database comes from --db or DATABASE_URL. Every change is audited like its HTTP route (same
 * event type and details; the actor is the OS user, `os:<name>`), published to NATS_URL with
 * NATS_CREDS/NATS_CA; the change and its event are one transaction, so none happens unaudited.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { type CliAuditRecord, openCliAudit } from '../../infra/launcher/cli-audit.js';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { createEnrollmentKey } from './enrollment.js';
import { generatePassword } from './password.js';
import { roleSchema } from './roles.js';
import { enrollmentKeyBodySchema } from './schemas.js';
import { createUser, findUserByName, grantMachine } from './users.js';

const usage = `usage:
  users create --name N --role ${roleSchema.options.join('|')} [--service]   (password: GC_PASSWORD or generated; --service: none, API tokens only)
  users grant --name N --machine <agentId|*>
  enrollment-key create [--site S] [--reusable] [--ttl-hours H]
options: --db <postgres url> (default DATABASE_URL); the audit log: NATS_URL, NATS_CREDS, NATS_CA`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Where changes are audited; absent: the event stream at NATS_URL (tests of the database alone pass a list). */
  audit?: CliAuditRecord;
}

const defaultIo: CliIo = { env: process.env, out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** One change and the audit event that records it. */
type Change<T> = Result<{ value: T; eventType: string; details: Record<string, unknown> }>;

/** Thrown inside the transaction so an event the stream refused rolls the change back. */
class AuditNotStored extends Error {}

/**
 * Makes the change and publishes its event inside one transaction: when the event is not stored,
 * nothing is committed. (If the commit itself fails after the event was stored, the log names a
 * change that did not happen: the safe side for an auditor.)
 */
async function audited<T>(db: Kysely<Database>, record: CliAuditRecord, change: (tx: Kysely<Database>) => Promise<Change<T>>): Promise<Result<T>> {
  try {
    return await db.transaction().execute(async (tx) => {
      const c = await change(tx);
      if (!c.ok) return c;
      await record(c.value.eventType, c.value.details).catch((e: unknown) => {
        throw new AuditNotStored((e as Error).message);
      });
      return ok(c.value.value);
    });
  } catch (e) {
    if (e instanceof AuditNotStored)
      return err(ErrorCode.BUS_UNAVAILABLE, `the audit log did not store the event (${e.message}): nothing was changed; check NATS (bash infra/up.sh) and run the command again`);
    throw e;
  }
}

/** Runs one admin command; returns the process exit code (0 ok, 1 refused, 2 usage or no audit log). */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    io.err(`${(e as Error).message}\n${usage}`);
    return 2;
  }
  const {
    positionals: [area, verb],
    values: v,
  } = parsed;
  const url = v.db ?? io.env.DATABASE_URL;
  if (!url) {
    io.err(`no database: pass --db or set DATABASE_URL\n${usage}`);
    return 2;
  }
  const cmd = `${area ?? ''} ${verb ?? ''}`;
  const command = parseCommand(cmd, v);
  if (typeof command === 'string') {
    io.err(command);
    return 2;
  }

  // The audit log first: a command that could not record its change does not make it.
  let record = io.audit;
  let closeAudit = async () => {};
  if (!record) {
    const natsUrl = io.env.NATS_URL;
    if (!natsUrl) {
      io.err('no audit log: set NATS_URL (and NATS_CREDS, NATS_CA) or start the stack (bash infra/up.sh); nothing was changed');
      return 2;
    }
    try {
      const log = await openCliAudit({ natsUrl, credsFile: io.env.NATS_CREDS || undefined, caFile: io.env.NATS_CA || undefined }, 'guruconnect-auth-cli');
      record = log.record;
      closeAudit = () => log.close();
    } catch (e) {
      io.err(`audit log unreachable at ${natsUrl} (${(e as Error).message}): nothing was changed; start NATS (bash infra/up.sh) or set NATS_URL, NATS_CREDS, NATS_CA`);
      return 2;
    }
  }

  const db = openDb({ url, max: 1, applicationName: 'guruconnect-auth-cli' });
  try {
    await migrateToLatest(db);
    return await run(db, record, command, io);
  } finally {
    await db.destroy();
    await closeAudit();
  }
}

type Command =
  | { kind: 'users create'; name: string; role: (typeof roleSchema.options)[number]; service: boolean }
  | { kind: 'users grant'; name: string; machine: string }
  | { kind: 'enrollment-key create'; site: string | undefined; reusable: boolean | undefined; ttlHours: number };

/** The command and its checked options, or the usage line to print (exit 2), before anything is opened. */
function parseCommand(cmd: string, v: ReturnType<typeof parse>['values']): Command | string {
  if (cmd === 'users create') {
    const role = roleSchema.safeParse(v.role);
    if (!v.name || !role.success) return `users create needs --name and --role (${roleSchema.options.join('|')})`;
    return { kind: cmd, name: v.name, role: role.data, service: v.service ?? false };
  }
  if (cmd === 'users grant') {
    if (!v.name || !v.machine) return 'users grant needs --name and --machine <agentId|*>';
    return { kind: cmd, name: v.name, machine: v.machine };
  }
  if (cmd === 'enrollment-key create') {
    // The route's schema: an unbounded --ttl-hours made a key that never expires (or an Invalid Date Postgres refused).
    const given = v['ttl-hours'];
    const o = enrollmentKeyBodySchema.safeParse({ site: v.site, reusable: v.reusable, ttl_hours: given === undefined ? undefined : given.trim() === '' ? Number.NaN : Number(given) });
    if (!o.success) return `enrollment-key create: ${o.error.issues.map((i) => `--${i.path.join('.').replace('_', '-')} ${i.message}`).join('; ')}`;
    return { kind: cmd, site: o.data.site, reusable: o.data.reusable, ttlHours: o.data.ttl_hours };
  }
  return usage;
}

/** Makes the change with its audit event (the HTTP route's event type and details) and prints the outcome. */
async function run(db: Kysely<Database>, record: CliAuditRecord, c: Command, io: CliIo): Promise<number> {
  const fail = (e: { code: string; message: string }) => {
    io.err(`${e.code}: ${e.message}`);
    return e.code === ErrorCode.BUS_UNAVAILABLE ? 2 : 1;
  };
  if (c.kind === 'users create') {
    const given = io.env.GC_PASSWORD;
    const password = c.service ? undefined : given && given.length > 0 ? given : generatePassword();
    const r = await audited(db, record, async (tx) => {
      const u = await createUser(tx, password === undefined ? { name: c.name, role: c.role, service: true } : { name: c.name, role: c.role, password });
      if (!u.ok) return u;
      const details = { user_id: u.value.id, name: u.value.name, role: u.value.role, ...(c.service ? { service: true } : {}) };
      return ok({ value: u.value, eventType: 'user_created', details });
    });
    if (!r.ok) return fail(r.error);
    if (c.service) {
      io.out(`created service account ${r.value.name} (${r.value.role}, ${r.value.id}); it has no password: create an API token for it (POST /api/tokens)`);
      return 0;
    }
    io.out(`created ${r.value.role} ${r.value.name} (${r.value.id})`);
    // Printed once; only the scrypt hash is stored.
    if (!given) io.out(`password: ${password}`);
    return 0;
  }
  if (c.kind === 'users grant') {
    const r = await audited(db, record, async (tx) => {
      const user = await findUserByName(tx, c.name);
      if (!user) return err(ErrorCode.NOT_FOUND, `no user named ${c.name}`);
      const g = await grantMachine(tx, user.id, c.machine);
      if (!g.ok) return g;
      return ok({ value: user, eventType: 'machine_granted', details: { ...g.value } });
    });
    if (!r.ok) return fail(r.error);
    io.out(`granted ${r.value.name} access to ${c.machine === '*' ? 'all machines' : c.machine}`);
    return 0;
  }
  const r = await audited(db, record, async (tx) => {
    const k = await createEnrollmentKey(tx, { site: c.site, reusable: c.reusable, ttlMs: c.ttlHours * 3600_000 });
    return ok({ value: k, eventType: 'enrollment_key_created', details: { key_id: k.id, site: k.site, reusable: k.reusable, expires_at: k.expiresAt.toISOString() } });
  });
  if (!r.ok) return fail(r.error);
  const k = r.value;
  io.out(`enrollment key ${k.id} (site "${k.site}", ${k.reusable ? 'reusable' : 'single use'}, expires ${k.expiresAt.toISOString()})`);
  io.out(`key: ${k.key}`);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      machine: { type: 'string' },
      site: { type: 'string' },
      reusable: { type: 'boolean' },
      service: { type: 'boolean' },
      'ttl-hours': { type: 'string' },
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
