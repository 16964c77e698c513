// Test-only: throw-away PostgreSQL and MySQL/MariaDB databases for the *.int.test.ts files and the benches.
//
// The db package has the same helpers in packages/db/src/testing/services.ts, but they are not exported from
// @keyway/db and the control plane does not depend on the `pg` / `mariadb` drivers. So the minimal logic is
// repeated here, and server-level statements go through a Prisma client from `createPrismaClient` instead.
import { randomBytes } from 'node:crypto';
import { createPrismaClient } from '@keyway/db';

export type ServerProvider = 'postgresql' | 'mysql';

/** Admin connection URLs: the environment variables the db package's integration tests read, same defaults. */
export const SERVER_URLS: Record<ServerProvider, string> = {
  postgresql: process.env.TEST_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres',
  mysql: process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test',
};

/** The environment variable that points the tests at another server. */
export const SERVER_URL_ENV: Record<ServerProvider, string> = {
  postgresql: 'TEST_POSTGRES_URL',
  mysql: 'TEST_MYSQL_URL',
};

export interface TempDatabase {
  provider: ServerProvider;
  /** `kw_test_<random>`. */
  name: string;
  /** The admin URL pointing at the new database (query string kept). */
  url: string;
  /** Drops the database (idempotent). */
  drop(): Promise<void>;
}

/** `kw_test_<base36 time>_<8 hex>`: unlikely to clash with a parallel test file or an earlier run. */
export function randomDatabaseName(): string {
  return `kw_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** The same server URL naming another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Where server-level statements run. PostgreSQL: the configured database (`postgres` by default). MySQL: the
 * configured database need not exist (`test` often does not), and `information_schema` always does.
 */
function adminUrl(provider: ServerProvider, serverUrl: string): string {
  return provider === 'mysql' ? withDatabase(serverUrl, 'information_schema') : serverUrl;
}

async function runAdmin(provider: ServerProvider, serverUrl: string, sql: string): Promise<void> {
  const conn = createPrismaClient(adminUrl(provider, serverUrl));
  try {
    await conn.prisma.$executeRawUnsafe(sql);
  } finally {
    await conn.close();
  }
}

/**
 * Creates an empty database on the server (UTF-8; utf8mb4 on MySQL, as the migrations expect). The name is
 * generated from `[a-z0-9_]` only, so quoting it as an identifier is all the escaping it needs.
 */
export async function createTempDatabase(
  provider: ServerProvider,
  serverUrl: string = SERVER_URLS[provider],
): Promise<TempDatabase> {
  const name = randomDatabaseName();
  if (provider === 'postgresql') {
    await runAdmin(provider, serverUrl, `CREATE DATABASE "${name}" ENCODING 'UTF8' TEMPLATE template0`);
  } else {
    await runAdmin(
      provider,
      serverUrl,
      `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  }
  let dropped = false;
  return {
    provider,
    name,
    url: withDatabase(serverUrl, name),
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE (PostgreSQL 13+): a test that failed half-way may have left connections open.
      await runAdmin(
        provider,
        serverUrl,
        provider === 'postgresql'
          ? `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`
          : `DROP DATABASE IF EXISTS \`${name}\``,
      );
    },
  };
}
