/**
 * Technician administration from the shell (the first admin is created here or by the launcher):
 *   users create --name N --role R        password from GC_PASSWORD, else generated and printed once
 *   users create --name N --role R --service   a service account: no password, API tokens only
 *   users grant --name N --machine <agentId|*>
 *   enrollment-key create [--site S] [--reusable] [--ttl-hours H]
 * The database comes from --db or DATABASE_URL.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import { createEnrollmentKey } from './enrollment.js';
import { generatePassword } from './password.js';
import { roleSchema } from './roles.js';
import { enrollmentKeyBodySchema } from './schemas.js';
import { createUser, findUserByName, grantMachine } from './users.js';

const usage = `usage:
  users create --name N --role ${roleSchema.options.join('|')} [--service]   (password: GC_PASSWORD or generated; --service: none, API tokens only)
  users grant --name N --machine <agentId|*>
  enrollment-key create [--site S] [--reusable] [--ttl-hours H]
options: --db <postgres url> (default DATABASE_URL)`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: CliIo = { env: process.env, out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** Runs one admin command; returns the process exit code (0 ok, 1 refused, 2 usage). */
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
  if (!['users create', 'users grant', 'enrollment-key create'].includes(cmd)) {
    io.err(usage);
    return 2;
  }

  const db = openDb({ url, max: 1, applicationName: 'guruconnect-auth-cli' });
  try {
    await migrateToLatest(db);
    if (cmd === 'users create') {
      const role = roleSchema.safeParse(v.role);
      if (!v.name || !role.success) {
        io.err(`users create needs --name and --role (${roleSchema.options.join('|')})`);
        return 2;
      }
      if (v.service) {
        const r = await createUser(db, { name: v.name, role: role.data, service: true });
        if (!r.ok) {
          io.err(`${r.error.code}: ${r.error.message}`);
          return 1;
        }
        io.out(`created service account ${r.value.name} (${r.value.role}, ${r.value.id}); it has no password: create an API token for it (POST /api/tokens)`);
        return 0;
      }
      const given = io.env.GC_PASSWORD;
      const password = given && given.length > 0 ? given : generatePassword();
      const r = await createUser(db, { name: v.name, role: role.data, password });
      if (!r.ok) {
        io.err(`${r.error.code}: ${r.error.message}`);
        return 1;
      }
      io.out(`created ${r.value.role} ${r.value.name} (${r.value.id})`);
      // Printed once; only the scrypt hash is stored.
      if (!given) io.out(`password: ${password}`);
      return 0;
    }
    if (cmd === 'users grant') {
      if (!v.name || !v.machine) {
        io.err('users grant needs --name and --machine <agentId|*>');
        return 2;
      }
      const user = await findUserByName(db, v.name);
      if (!user) {
        io.err(`NOT_FOUND: no user named ${v.name}`);
        return 1;
      }
      const r = await grantMachine(db, user.id, v.machine);
      if (!r.ok) {
        io.err(`${r.error.code}: ${r.error.message}`);
        return 1;
      }
      io.out(`granted ${user.name} access to ${v.machine === '*' ? 'all machines' : v.machine}`);
      return 0;
    }
    // The route's schema: an unbounded --ttl-hours made a key that never expires (or an Invalid Date Postgres refused).
    const given = v['ttl-hours'];
    const o = enrollmentKeyBodySchema.safeParse({ site: v.site, reusable: v.reusable, ttl_hours: given === undefined ? undefined : given.trim() === '' ? Number.NaN : Number(given) });
    if (!o.success) {
      io.err(`enrollment-key create: ${o.error.issues.map((i) => `--${i.path.join('.').replace('_', '-')} ${i.message}`).join('; ')}`);
      return 2;
    }
    const k = await createEnrollmentKey(db, { site: o.data.site, reusable: o.data.reusable, ttlMs: o.data.ttl_hours * 3600_000 });
    io.out(`enrollment key ${k.id} (site "${k.site}", ${k.reusable ? 'reusable' : 'single use'}, expires ${k.expiresAt.toISOString()})`);
    io.out(`key: ${k.key}`);
    return 0;
  } finally {
    await db.destroy();
  }
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
