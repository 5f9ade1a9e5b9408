/** Column types shared by the table files. */
import type { ColumnType } from 'kysely';

export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** bigint columns come back from pg as strings; we write numbers or strings. */
export type BigIntCol = ColumnType<string, number | string | bigint, number | string | bigint>;
