import type { Provider } from '../provider';
import type { CopyColumn } from './model';
import type { CopyRow, CopyValue } from './values';

/** A table as the copy moves it: its columns (from the schema) and primary key (from the catalog). */
export interface TableShape {
  table: string;
  columns: CopyColumn[];
  /** Primary-key column names, in key order. */
  primaryKey: string[];
}

/** How far the copy of one table got, kept in the target so an interrupted run goes on from there. */
export interface TableProgress {
  table: string;
  /** The last copied row's primary key (JSON array), null before the first batch. */
  lastKey: string | null;
  /** Rows the copy has written into the target table. */
  copied: number;
  /** The table was read to its end at least once. */
  done: boolean;
}

/** The name of the progress table the copy keeps in the target. */
export const PROGRESS_TABLE = '_keyway_copy_progress';

/**
 * One database as the copy reads and writes it, through its own driver (not Prisma: rows are streamed in
 * primary-key pages, and each dialect's types are converted by hand).
 */
export interface CopyEndpoint {
  readonly provider: Provider;
  /** Names of the base tables in the database (the URL's schema on PostgreSQL). */
  tables(): Promise<Set<string>>;
  /** Names of the migrations applied (finished, not rolled back); null without a `_prisma_migrations` table. */
  appliedMigrations(): Promise<string[] | null>;
  /** Primary-key columns of a table, in key order. */
  primaryKey(table: string): Promise<string[]>;
  /** Foreign keys as (table, referenced table) pairs. */
  foreignKeys(): Promise<Array<{ table: string; references: string }>>;
  count(table: string): Promise<number>;
  /** Up to `limit` rows after `after` (a primary key; null = from the start), in primary-key order. */
  readPage(shape: TableShape, after: readonly CopyValue[] | null, limit: number): Promise<CopyRow[]>;
  /** The row with this primary key, or null. */
  readRow(shape: TableShape, key: readonly CopyValue[]): Promise<CopyRow | null>;
  /** The progress records, or null when the progress table does not exist. */
  readProgress(): Promise<Map<string, TableProgress> | null>;
  createProgressTable(): Promise<void>;
  /** Inserts rows (ids kept) and records the table's progress, in one transaction. */
  writeBatch(shape: TableShape, rows: readonly CopyRow[], progress: TableProgress): Promise<void>;
  /** Moves the table's autoincrement counter past its largest id (no-op where the database does it itself). */
  fixSequence(table: string, column: string): Promise<void>;
  /** Values that lost NUL characters on the way in (PostgreSQL only). */
  readonly nulStripped: number;
  close(): Promise<void>;
}

/** The key columns' values of a row. */
export function keyOf(shape: TableShape, row: CopyRow): CopyValue[] {
  return shape.primaryKey.map((k) => row[shape.columns.findIndex((c) => c.name === k)] ?? null);
}

/** The primary-key comparison `(a, b) > (?, ?)` with the dialect's quoting and placeholders. */
export function keyAfter(
  shape: TableShape,
  quote: (name: string) => string,
  placeholder: (i: number) => string,
  offset = 0,
): string {
  const cols = shape.primaryKey.map(quote).join(', ');
  const params = shape.primaryKey.map((_, i) => placeholder(offset + i)).join(', ');
  return `(${cols}) > (${params})`;
}

/** The primary-key equality `a = ? AND b = ?`. */
export function keyEquals(
  shape: TableShape,
  quote: (name: string) => string,
  placeholder: (i: number) => string,
): string {
  return shape.primaryKey.map((k, i) => `${quote(k)} = ${placeholder(i)}`).join(' AND ');
}

/** Progress kept as JSON in a text column: keys are ints or strings in this schema, bigints as strings. */
export function encodeKey(key: readonly CopyValue[]): string {
  return JSON.stringify(key.map((v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export function decodeKey(text: string): CopyValue[] {
  return JSON.parse(text) as CopyValue[];
}

const MAX_PARAMS = 30_000;
const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

/**
 * Splits a page into multi-row INSERT statements that stay under the drivers' limits: PostgreSQL and MySQL take at
 * most 65,535 placeholders, and MySQL refuses a packet over max_allowed_packet (request bodies can be large).
 */
export function statementChunks(rows: readonly CopyRow[], width: number): CopyRow[][] {
  const chunks: CopyRow[][] = [];
  let chunk: CopyRow[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = row.reduce<number>((n, v) => n + (typeof v === 'string' ? v.length * 3 : 16), 0);
    if (chunk.length > 0 && ((chunk.length + 1) * width > MAX_PARAMS || bytes + size > MAX_STATEMENT_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(row);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
