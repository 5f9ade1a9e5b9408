/**
 * A rebuild's shadow copy of a live table: `like … including all` (columns, defaults, constraints,
 * indexes), plus what LIKE leaves out and a read model may depend on: the table's storage options
 * (machines' fillfactor keeps heartbeats HOT) and its triggers (machines' keep the filter's
 * machines_search_users). The triggers move to public with the table at the swap.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Creates `shadow.table` shaped like `public.table`, its options and triggers included. */
export async function createShadowTable(db: Kysely<Database>, shadow: string, table: string): Promise<void> {
  await sql`create table ${sql.id(shadow, table)} (like ${sql.id('public', table)} including all)`.execute(db);
  await db.transaction().execute(async (trx) => {
    // Names in pg_get_triggerdef are qualified only when the search path does not reach them.
    await sql`set local search_path = pg_catalog`.execute(trx);
    const rel = (
      await sql<{ name: string; options: string[] | null }>`select c.oid::regclass::text as name, c.reloptions as options from pg_class c where c.oid = to_regclass(${`public.${table}`})`.execute(trx)
    ).rows[0];
    if (!rel) throw new Error(`no table public.${table}`);
    // reloptions come from the catalog as name=value, already in ALTER TABLE … SET syntax.
    if (rel.options?.length) await sql`alter table ${sql.id(shadow, table)} set (${sql.raw(rel.options.join(', '))})`.execute(trx);
    const triggers = await sql<{
      name: string;
      def: string;
    }>`select quote_ident(tgname) as name, pg_get_triggerdef(oid) as def from pg_trigger where tgrelid = to_regclass(${`public.${table}`}) and not tgisinternal order by tgname`.execute(trx);
    for (const t of triggers.rows) {
      const head = `CREATE TRIGGER ${t.name} `;
      const on = ` ON ${rel.name} `;
      const at = t.def.indexOf(on, head.length);
      if (!t.def.startsWith(head) || at < 0) throw new Error(`trigger ${t.name} on ${rel.name}: unexpected definition`);
      const target = `${quoteIdent(shadow)}.${quoteIdent(table)}`;
      await sql.raw(`${t.def.slice(0, at)} ON ${target} ${t.def.slice(at + on.length)}`).execute(trx);
    }
  });
}
