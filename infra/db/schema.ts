/**
 * The one description of our Postgres tables (kysely): each area keeps its tables in
 * infra/db/tables/<area>.ts, added in the same change as its migration; every query is typed against
 * `Database`.
 */
import type { AuditTables } from './tables/audit.js';
import type { AuthTables } from './tables/auth.js';
import type { ReadModelTables } from './tables/read-models.js';

export interface Database extends ReadModelTables, AuditTables, AuthTables {}

export type * from './tables/read-models.js';
