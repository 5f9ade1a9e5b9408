/** Column types shared by the table files. */
import type { ColumnType } from 'kysely';

export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** bigint columns come back from pg as strings; we write numbers or strings. */
export type BigIntCol = ColumnType<string, number | string | bigint, number | string | bigint>;
/**
 * A proto uint32/int64 in a bigint column (migration 0005): every value the proto allows fits. pg
 * returns bigint as a string; readers convert with Number() (a uint32 is exact).
 */
export type ProtoIntCol = ColumnType<string, number | string, number | string>;
