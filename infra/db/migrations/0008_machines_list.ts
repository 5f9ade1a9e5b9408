/**
 * Issue 18 goal 4: the machines list is paged with a keyset on (hostname, agent_id), its sort order;
 * this index lets each page start where the last ended without sorting the whole fleet.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('machines_list_order').on('machines').columns(['hostname', 'agent_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('machines_list_order').execute();
}
