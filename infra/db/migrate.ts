/** Runs the append-only migrations in infra/db/migrations with kysely's Migrator. */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Loads every NNNN_name.{ts,js} file of the migrations folder, in name order. */
const provider: MigrationProvider = {
  async getMigrations() {
    const files = (await readdir(dir)).filter((f) => /^\d{4}_.*\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
    const out: Record<string, Migration> = {};
    for (const f of files) out[f.replace(/\.(ts|js)$/, '')] = (await import(pathToFileURL(join(dir, f)).href)) as Migration;
    return out;
  },
};

/** Migrates to the latest version; throws with the failing migration's name. */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<string[]> {
  // Advisory lock: several processes (gateway, workers) may start at once against one database.
  const migrator = new Migrator({ db, provider, migrationTableName: 'gc_migrations', migrationLockTableName: 'gc_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
