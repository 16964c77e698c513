import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { sqlitePathFromUrl } from '../provider';
import { SQLITE_BUSY_TIMEOUT_MS, openSqliteFile } from '../sqlite-file';
import type { CopyEndpoint, TableProgress, TableShape } from './endpoint';
import { PROGRESS_TABLE, keyAfter, keyEquals } from './endpoint';
import type { CopyRow, CopyValue } from './values';
import { asText, decodeRow, sqliteTimeText } from './values';

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const placeholder = () => '?';

/** SQLite stores what Prisma's adapter writes: booleans as 0/1, timestamps as RFC 3339 text, JSON as text. */
function encode(value: CopyValue): unknown {
  if (value instanceof Date) return sqliteTimeText(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/**
 * Opens a SQLite file for the copy. A source is opened read-only and must exist (a typo must not look like an
 * empty database); a target is created if needed.
 */
export function openSqliteEndpoint(url: string, role: 'source' | 'target'): CopyEndpoint {
  const path = sqlitePathFromUrl(url);
  let db: Database.Database;
  if (role === 'source') {
    if (path !== ':memory:' && !existsSync(path)) throw new Error(`no SQLite database at ${path}`);
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: SQLITE_BUSY_TIMEOUT_MS });
  } else db = openSqliteFile(url);

  const all = (sql: string, ...params: unknown[]) =>
    db.prepare(sql).all(...params) as Record<string, unknown>[];
  const rows = (sql: string, shape: TableShape, params: unknown[]): CopyRow[] =>
    (
      db
        .prepare(sql)
        .raw(true)
        .safeIntegers(true)
        .all(...params) as unknown[][]
    ).map((r) => decodeRow(shape.columns, r));
  const select = (shape: TableShape) =>
    `SELECT ${shape.columns.map((c) => quote(c.name)).join(', ')} FROM ${quote(shape.table)}`;
  const orderBy = (shape: TableShape) => shape.primaryKey.map(quote).join(', ');

  return {
    provider: 'sqlite',
    nulStripped: 0,
    tables: () =>
      Promise.resolve(
        new Set(
          all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").map((r) =>
            asText(r.name),
          ),
        ),
      ),
    appliedMigrations: () => {
      const has = all("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'");
      if (has.length === 0) return Promise.resolve(null);
      return Promise.resolve(
        all(
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
        ).map((r) => asText(r.migration_name)),
      );
    },
    primaryKey: (table) =>
      Promise.resolve(
        all(`SELECT name, pk FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, table).map((r) =>
          asText(r.name),
        ),
      ),
    foreignKeys: () =>
      Promise.resolve(
        all(
          `SELECT m.name AS tbl, f."table" AS ref FROM sqlite_master m, pragma_foreign_key_list(m.name) f
            WHERE m.type = 'table'`,
        ).map((r) => ({ table: asText(r.tbl), references: asText(r.ref) })),
      ),
    count: (table) =>
      Promise.resolve(
        Number((db.prepare(`SELECT count(*) AS n FROM ${quote(table)}`).get() as { n: number }).n),
      ),
    readPage: (shape, after, limit) => {
      const where = after ? ` WHERE ${keyAfter(shape, quote, placeholder)}` : '';
      const params = after ? after.map(encode) : [];
      return Promise.resolve(
        rows(`${select(shape)}${where} ORDER BY ${orderBy(shape)} LIMIT ?`, shape, [...params, limit]),
      );
    },
    readRow: (shape, key) =>
      Promise.resolve(
        rows(`${select(shape)} WHERE ${keyEquals(shape, quote, placeholder)}`, shape, key.map(encode))[0] ??
          null,
      ),
    readProgress: () => {
      const has = all(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, PROGRESS_TABLE);
      if (has.length === 0) return Promise.resolve(null);
      const map = new Map<string, TableProgress>();
      for (const r of all(`SELECT table_name, last_key, copied, done FROM ${PROGRESS_TABLE}`))
        map.set(asText(r.table_name), {
          table: asText(r.table_name),
          lastKey: r.last_key === null ? null : asText(r.last_key),
          copied: Number(r.copied),
          done: Number(r.done) === 1,
        });
      return Promise.resolve(map);
    },
    createProgressTable: () => {
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (table_name TEXT PRIMARY KEY NOT NULL, last_key TEXT,
          copied INTEGER NOT NULL, done INTEGER NOT NULL, updated_at TEXT NOT NULL)`,
      );
      return Promise.resolve();
    },
    writeBatch: (shape, batch, progress) => {
      const insert = db.prepare(
        `INSERT INTO ${quote(shape.table)} (${shape.columns.map((c) => quote(c.name)).join(', ')}) VALUES (${shape.columns.map(() => '?').join(', ')})`,
      );
      const record = db.prepare(
        `INSERT INTO ${PROGRESS_TABLE} (table_name, last_key, copied, done, updated_at) VALUES (?, ?, ?, ?, ?)
          ON CONFLICT (table_name) DO UPDATE SET last_key = excluded.last_key, copied = excluded.copied,
          done = excluded.done, updated_at = excluded.updated_at`,
      );
      db.transaction(() => {
        for (const row of batch) insert.run(...row.map(encode));
        record.run(
          progress.table,
          progress.lastKey,
          progress.copied,
          progress.done ? 1 : 0,
          new Date().toISOString(),
        );
      }).immediate();
      return Promise.resolve();
    },
    // AUTOINCREMENT tables keep sqlite_sequence at the largest id ever inserted, explicit ones included.
    fixSequence: () => Promise.resolve(),
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}
