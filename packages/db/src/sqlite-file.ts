import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { sqlitePathFromUrl } from './provider';

/**
 * How long a SQLite connection waits for another connection's write lock before failing with SQLITE_BUSY.
 * Several Keyway processes (or a backup) may share one file, and their writes are short.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/**
 * Opens (creating it and its directory if needed) the SQLite file a `file:` URL names, in WAL mode with the busy
 * timeout set. WAL lets readers go on while a writer commits; the mode is stored in the file, so every later
 * connection to it, Prisma's included, uses it too.
 */
export function openSqliteFile(url: string): Database.Database {
  const path = sqlitePathFromUrl(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  db.pragma('journal_mode = WAL');
  return db;
}
