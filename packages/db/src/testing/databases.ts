// Test-only: a migrated throw-away database per provider, for suites that run on each of them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrismaClient, type DbConnection } from '../client';
import { applyMigrations } from '../migrate';
import type { Provider } from '../provider';
import { createTempMysqlDatabase, createTempPostgresDatabase } from './services';

/** A migrated, empty database: `connect()` opens another connection (pool) to it, as a second process would. */
export interface TestDatabase {
  provider: Provider;
  url: string;
  conn: DbConnection;
  connect(): DbConnection;
  /** Closes every connection opened here and deletes the database. */
  close(): Promise<void>;
}

/** Creates and migrates a database on `provider` (SQLite: a temporary file; others: the test server). */
export async function createTestDatabase(provider: Provider): Promise<TestDatabase> {
  let url: string;
  let drop: () => Promise<void>;
  if (provider === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-db-'));
    url = `file:${join(dir, 'keyway.db')}`;
    drop = () => Promise.resolve(rmSync(dir, { recursive: true, force: true }));
  } else {
    const temp = await (provider === 'postgresql' ? createTempPostgresDatabase() : createTempMysqlDatabase());
    url = temp.url;
    drop = () => temp.drop();
  }
  await applyMigrations(url);
  const opened: DbConnection[] = [];
  const connect = (): DbConnection => {
    const c = createPrismaClient(url);
    opened.push(c);
    return c;
  };
  return {
    provider,
    url,
    conn: connect(),
    connect,
    async close() {
      await Promise.allSettled(opened.map((c) => c.close()));
      await drop();
    },
  };
}
