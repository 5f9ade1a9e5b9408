/**
 * Issue 18 goal 4: the machines list is paged with a keyset on (hostname, agent_id), its sort order,
 * and filtered on the server by text anywhere in the host name, agent id, OS or a logged-on user.
 * - machines_list_order lets each page start where the last ended without sorting the fleet.
 * - machines_search is the filter's text (fields joined by chr(1), which no filter contains, so a
 *   match never spans two fields); its trigram index answers a selective filter without reading
 *   every row (pg_trgm ships with PostgreSQL and is a trusted extension since 13).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('machines_list_order').on('machines').columns(['hostname', 'agent_id']).execute();
  await sql`create extension if not exists pg_trgm`.execute(db);
  // array_to_string is only STABLE in general (any element type); over text[] its result depends on
  // nothing but its arguments, which is what IMMUTABLE promises and what an index needs. A quoted
  // body (not RETURN) so the planner inlines it: a call per row costs 5x the scan.
  await sql`
    create function machines_search(hostname text, agent_id text, os_version text, users text[]) returns text
    language sql immutable parallel safe
    as $$ select hostname || chr(1) || agent_id || chr(1) || os_version || chr(1) || array_to_string(users, chr(1)) $$
  `.execute(db);
  await sql`create index machines_search_trgm on machines using gin (machines_search(hostname, agent_id, os_version, users) gin_trgm_ops)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('machines_search_trgm').execute();
  await sql`drop function machines_search(text, text, text, text[])`.execute(db);
  await db.schema.dropIndex('machines_list_order').execute();
}
