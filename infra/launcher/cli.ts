/**
 * `npm run guruconnect -- <area> <verb> ...`: one entry for the admin and auditor tools. Against
 * the local stack it needs no settings: NATS_URL, NATS_CA, DATABASE_URL and NATS_CREDS default to
 * what the running launcher wrote in <GC_DATA_DIR>/stack.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const usage = `usage: npm run guruconnect -- <command>
  users create --name N --role admin|operator|viewer|auditor [--service]
  users grant --name N --machine <agentId|*>
  enrollment-key create [--site S] [--reusable] [--ttl-hours H]
  integrations create --name N [--agents <id,id|*>] [--events sessions,status,switched,backstage.output,audit] [--out FILE]
  integrations list | integrations revoke --name N
  events tail [--creds F] [--subject S | --agent A --type T] [--since ISO | --seq N] [--limit N] [--json]
  audit replay [--agent A] [--user U] [--type T] [--since ISO] [--until ISO] [--json] [--follow]
  audit verify
  audit prune [--older-than-days N]   (default GC_AUDIT_RETENTION_DAYS)
  projections rebuild [name]`;

/** Fills connection settings from the local stack when the environment does not give them. */
function localDefaults(credsKind: 'auditor' | 'launcher'): void {
  const dataDir = resolve(process.env.GC_DATA_DIR ?? 'data');
  const file = join(dataDir, 'stack.json');
  if (!existsSync(file)) return;
  const s = JSON.parse(readFileSync(file, 'utf8')) as { natsUrl: string; natsCa?: string; databaseUrl: string };
  process.env.NATS_URL ??= s.natsUrl;
  // The CA goes with the URL: a NATS_URL of another deployment keeps its own NATS_CA (or none).
  if (process.env.NATS_URL === s.natsUrl && s.natsCa) process.env.NATS_CA ??= s.natsCa;
  process.env.DATABASE_URL ??= s.databaseUrl;
  const creds = join(dataDir, 'nats-auth', 'creds', `${credsKind}.creds`);
  if (!process.env.NATS_CREDS && existsSync(creds)) process.env.NATS_CREDS = creds;
}

const [area, verb, ...rest] = process.argv.slice(2);
let code = 2;
try {
  if (area === 'users' || area === 'enrollment-key') {
    localDefaults('launcher');
    code = await (await import('../../services/auth/cli.js')).main(process.argv.slice(2));
  } else if (area === 'integrations') {
    code = await (await import('./integrations-cli.js')).main(process.argv.slice(3));
  } else if (area === 'events' && verb === 'tail') {
    localDefaults('auditor');
    code = await (await import('../../projections/cli/events-tail.js')).main(rest);
  } else if (area === 'audit' && verb === 'replay') {
    localDefaults('auditor');
    code = await (await import('../../projections/cli/audit-replay.js')).main(rest);
  } else if (area === 'audit' && verb === 'verify') {
    localDefaults('auditor');
    code = await (await import('../../projections/cli/audit-verify.js')).main(rest);
  } else if (area === 'audit' && verb === 'prune') {
    // Deleting needs the database owner's settings, not the read-only auditor's.
    localDefaults('launcher');
    code = await (await import('../../projections/cli/audit-prune.js')).main(rest);
  } else if (area === 'projections' && verb === 'rebuild') {
    localDefaults('launcher');
    code = await (await import('../../projections/cli/projections-rebuild.js')).main(rest);
  } else {
    console.error(usage);
    code = 2;
  }
} catch (e) {
  // One line, never a stack trace: what failed and, in the message, what to do.
  console.error(`guruconnect ${[area, verb].filter(Boolean).join(' ')}: ${(e as Error).message}`);
  code = 1;
}
process.exit(code);
