/** The one port the reader needs from a database: list tables, run a SELECT, decode a datetime, close. */
import type { ToDate } from '../rows';
import type { RawRow } from '../values';

export interface SourceConnection {
  readonly kind: 'sqlite' | 'mysql' | 'postgres';
  /** Names of the tables of the GPT-Load schema/database. */
  tables(): Promise<Set<string>>;
  /** Runs a read-only query; `?` placeholders in every dialect. */
  all(sql: string, params?: readonly unknown[]): Promise<RawRow[]>;
  /** Quotes an identifier (`groups` is a reserved word in MySQL 8). */
  quote(name: string): string;
  /** This driver's datetime values → Date. */
  toDate: ToDate;
  close(): Promise<void>;
}

/** Opens a fresh connection (the log and stat iterators each open their own). */
export type OpenSource = () => Promise<SourceConnection>;
