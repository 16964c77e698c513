/** SQLite source: GPT-Load's default (`./data/gpt-load.db`), opened read-only so the import can never alter it. */
import Database from 'better-sqlite3';
import type { SqliteDsn } from '../dsn';
import { GptLoadReadError } from '../types';
import { parseGptLoadTime, type RawRow } from '../values';
import type { OpenSource, SourceConnection } from './connection';

/** Opener for a SQLite file; a missing file or a non-database file is a clear `GptLoadReadError`. */
export function sqliteSource(dsn: SqliteDsn): OpenSource {
  return () => {
    let db: Database.Database;
    try {
      db = new Database(dsn.path, { readonly: true, fileMustExist: true });
    } catch (cause) {
      throw new GptLoadReadError('source_unavailable', `Cannot open the SQLite file ${dsn.label}`, { cause });
    }
    const conn: SourceConnection = {
      kind: 'sqlite',
      tables: () => {
        let rows: { name: string }[];
        try {
          rows = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
            name: string;
          }[];
        } catch (cause) {
          // better-sqlite3 opens lazily: an uploaded file that is not a database fails here (SQLITE_NOTADB).
          db.close();
          throw new GptLoadReadError('not_gpt_load', `${dsn.label} is not a SQLite database`, { cause });
        }
        return Promise.resolve(new Set(rows.map((r) => r.name)));
      },
      all: (sql, params = []) => Promise.resolve(db.prepare(sql).all(...params) as RawRow[]),
      quote: (name) => `\`${name}\``,
      // go-sqlite writes "2006-01-02 15:04:05.999999999-07:00" text; naive text (hand-edited rows) is UTC.
      toDate: (v) => parseGptLoadTime(v),
      close: () => {
        db.close();
        return Promise.resolve();
      },
    };
    return Promise.resolve(conn);
  };
}
