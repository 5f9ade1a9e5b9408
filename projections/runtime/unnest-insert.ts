/**
 * Batched writes as one `INSERT … SELECT FROM unnest(array, …)`: one parameter per column instead
 * of one per cell, which Postgres plans once and parses far faster than a multi-row VALUES list
 * (58k vs 45k rows/s measured, and much less work for the Node side).
 */
import { type RawBuilder, type Transaction, sql } from 'kysely';
import type { Database } from '../../infra/db/schema.js';

/** Column types as sent; `text[]` and `jsonb` travel as JSON text (unnest cannot take ragged arrays). */
export type ColumnType = 'text' | 'int4' | 'int8' | 'bool' | 'timestamptz' | 'text[]' | 'jsonb';

export type Columns<R> = { readonly [K in keyof R & string]?: ColumnType };

const arrayType: Record<ColumnType, string> = {
  text: 'text[]',
  int4: 'int4[]',
  int8: 'int8[]',
  bool: 'bool[]',
  timestamptz: 'timestamptz[]',
  'text[]': 'text[]',
  jsonb: 'text[]',
};

function param(v: unknown, t: ColumnType): unknown {
  if (v === null || v === undefined) return null;
  if (t === 'text[]' || t === 'jsonb') return typeof v === 'string' && t === 'jsonb' ? v : JSON.stringify(v);
  if (t === 'timestamptz' && !(v instanceof Date)) return new Date(v as string | number);
  return v;
}

function selectExpr(name: string, t: ColumnType): RawBuilder<unknown> {
  const c = sql.ref(`t.${name}`);
  if (t === 'text[]') return sql`case when ${c} is null then null else array(select json_array_elements_text(${c}::json)) end`;
  if (t === 'jsonb') return sql`${c}::jsonb`;
  return sql`${c}`;
}

export interface UnnestInsert<R> {
  table: string;
  rows: readonly R[];
  columns: Columns<R>;
  /** Upsert on this key: every other column takes the new value. */
  upsertOn?: readonly (keyof R & string)[];
  /** With upsertOn: columns a stored row keeps. */
  keepOnConflict?: readonly (keyof R & string)[];
  /** With upsertOn: update only when the new row's value of this column is greater. */
  onlyIfNewer?: keyof R & string;
  /** Ignore rows whose key exists. */
  ignoreOn?: readonly (keyof R & string)[];
}

/** Inserts `rows` with one statement per 5,000 rows (unqualified table: search_path decides, as rebuild needs). */
export async function unnestInsert<R extends object>(trx: Transaction<Database>, o: UnnestInsert<R>): Promise<void> {
  const names = Object.keys(o.columns) as (keyof R & string)[];
  const type = (n: keyof R & string) => o.columns[n] as ColumnType;
  const cols = sql.join(names.map((n) => sql.id(n)));
  let conflict: RawBuilder<unknown> = sql``;
  if (o.upsertOn) {
    const sets = names.filter((n) => !o.upsertOn?.includes(n) && !o.keepOnConflict?.includes(n)).map((n) => sql`${sql.id(n)} = excluded.${sql.id(n)}`);
    const newer = o.onlyIfNewer ? sql`where ${sql.id(o.table, o.onlyIfNewer)} < excluded.${sql.id(o.onlyIfNewer)}` : sql``;
    conflict = sql`on conflict (${sql.join(o.upsertOn.map((n) => sql.id(n)))}) do update set ${sql.join(sets)} ${newer}`;
  } else if (o.ignoreOn) {
    conflict = sql`on conflict (${sql.join(o.ignoreOn.map((n) => sql.id(n)))}) do nothing`;
  }
  for (let i = 0; i < o.rows.length; i += 5000) {
    const chunk = o.rows.slice(i, i + 5000);
    const arrays = names.map((n) => sql`${chunk.map((r) => param((r as Record<string, unknown>)[n], type(n)))}::${sql.raw(arrayType[type(n)])}`);
    await sql`insert into ${sql.table(o.table)} (${cols})
      select ${sql.join(names.map((n) => selectExpr(n, type(n))))} from unnest(${sql.join(arrays)}) as t(${cols}) ${conflict}`.execute(trx);
  }
}

/** `column = any($1)` for a list of keys: one parameter however many keys. */
export function anyOf(column: string, keys: readonly string[]): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} = any(${keys}::text[])`;
}
