/**
 * The machines projection's cost after 0008, measured (test/bench/projection.bench.ts): the trigram
 * index over machines_search(hostname, agent_id, os_version, users) made every heartbeat whose user
 * list changed a non-HOT update, which adds a new entry to every index of machines (the key, the list
 * order and some fifty trigrams), and tripled Postgres' CPU time per catch-up.
 * - The filter's text is split by how often it changes. Host name, agent id and OS stay indexed on
 *   machines (machines_host_search); the users, joined by chr(1) as before, live in
 *   machines_search_users, one row per agent, rewritten only when they changed.
 * - fillfactor 50 leaves room on each page, so a heartbeat (no indexed column changed) is a HOT
 *   update: no index work at all. It applies to pages written from now on.
 * - Statement triggers with transition tables keep the side table, set-based (one statement per
 *   upsert of up to 5,000 rows), for every writer of machines: the projection, a rebuild (which copies
 *   the triggers), tests that seed rows. A side row whose agent is gone matches nothing: the filter
 *   only picks machines rows by agent id.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table machines set (fillfactor = 50)`.execute(db);
  await sql`drop index machines_search_trgm`.execute(db);
  await sql`drop function machines_search(text, text, text, text[])`.execute(db);
  // Inlined like 0008's machines_search (a quoted body, immutable): concatenation alone, so it is.
  await sql`
    create function machines_host_search(hostname text, agent_id text, os_version text) returns text
    language sql immutable parallel safe
    as $$ select hostname || chr(1) || agent_id || chr(1) || os_version $$
  `.execute(db);
  // A small pending list (256 kB, not 4 MB) for both trigram indexes: the planner prices a long
  // one high and read every row instead (20-25 ms for a filter on 10,000 fresh rows, 3-6 ms with
  // the index), and merging it more often cost no measurable CPU in the projection bench.
  await sql`create index machines_host_search_trgm on machines using gin (machines_host_search(hostname, agent_id, os_version) gin_trgm_ops) with (gin_pending_list_limit = 256)`.execute(db);

  await db.schema
    .createTable('machines_search_users')
    .addColumn('agent_id', 'text', (c) => c.primaryKey())
    .addColumn('users', 'text', (c) => c.notNull())
    .execute();
  await sql`create index machines_search_users_trgm on machines_search_users using gin (users gin_trgm_ops) with (gin_pending_list_limit = 256)`.execute(db);
  // Unqualified names on purpose: a rebuild writes its shadow tables under search_path = shadow, public.
  // The WHERE keeps an unchanged list from writing a new row version.
  await sql`
    create function machines_search_users_put() returns trigger language plpgsql as $$
    begin
      insert into machines_search_users (agent_id, users)
        select agent_id, array_to_string(users, chr(1)) from new_rows
        on conflict (agent_id) do update set users = excluded.users
        where machines_search_users.users is distinct from excluded.users;
      return null;
    end $$
  `.execute(db);
  await sql`
    create function machines_search_users_drop() returns trigger language plpgsql as $$
    begin
      delete from machines_search_users where agent_id in (select agent_id from old_rows);
      return null;
    end $$
  `.execute(db);
  await sql`
    create function machines_search_users_clear() returns trigger language plpgsql as $$
    begin
      -- Not TRUNCATE: that fails when the same statement truncates both tables (a reset does).
      delete from machines_search_users;
      return null;
    end $$
  `.execute(db);
  await sql`create trigger machines_search_users_insert after insert on machines referencing new table as new_rows for each statement execute function machines_search_users_put()`.execute(db);
  await sql`create trigger machines_search_users_update after update on machines referencing new table as new_rows for each statement execute function machines_search_users_put()`.execute(db);
  await sql`create trigger machines_search_users_delete after delete on machines referencing old table as old_rows for each statement execute function machines_search_users_drop()`.execute(db);
  await sql`create trigger machines_search_users_truncate after truncate on machines for each statement execute function machines_search_users_clear()`.execute(db);
  await sql`insert into machines_search_users (agent_id, users) select agent_id, array_to_string(users, chr(1)) from machines`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['insert', 'update', 'delete', 'truncate']) await sql`drop trigger ${sql.id(`machines_search_users_${t}`)} on machines`.execute(db);
  for (const f of ['put', 'drop', 'clear']) await sql`drop function ${sql.id(`machines_search_users_${f}`)}()`.execute(db);
  await db.schema.dropTable('machines_search_users').execute();
  await db.schema.dropIndex('machines_host_search_trgm').execute();
  await sql`drop function machines_host_search(text, text, text)`.execute(db);
  await sql`
    create function machines_search(hostname text, agent_id text, os_version text, users text[]) returns text
    language sql immutable parallel safe
    as $$ select hostname || chr(1) || agent_id || chr(1) || os_version || chr(1) || array_to_string(users, chr(1)) $$
  `.execute(db);
  await sql`create index machines_search_trgm on machines using gin (machines_search(hostname, agent_id, os_version, users) gin_trgm_ops)`.execute(db);
  await sql`alter table machines reset (fillfactor)`.execute(db);
}
