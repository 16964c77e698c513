// Test-only helpers for the PostgreSQL and MariaDB/MySQL integration tests (*.int.test.ts).
import { randomBytes } from 'node:crypto';
import * as mariadb from 'mariadb';
import pg from 'pg';
import { test } from 'vitest';

export type Service = 'postgresql' | 'mysql';

export const SERVICE_URLS: Record<Service, string> = {
  postgresql: process.env.TEST_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres',
  mysql: process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test',
};

const ENV_NAMES: Record<Service, string> = { postgresql: 'TEST_POSTGRES_URL', mysql: 'TEST_MYSQL_URL' };

/** The URL with its password hidden, for messages. */
function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** The same server URL pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function probe(service: Service): Promise<string | null> {
  try {
    if (service === 'postgresql') {
      const client = new pg.Client({
        connectionString: SERVICE_URLS.postgresql,
        connectionTimeoutMillis: 3000,
      });
      await client.connect();
      await client.end();
    } else {
      const conn = await mariadb.createConnection({ ...mysqlServerConfig(), connectTimeout: 3000 });
      await conn.end();
    }
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Checks the service is reachable, for `describe.skipIf(!available)`. When it is not: outside CI the tests are
 * skipped with a loud warning (a developer may not run the servers); with CI set a failing test is registered,
 * because CI must prove the migrations on every database.
 */
export async function serviceAvailable(service: Service): Promise<boolean> {
  const problem = await probe(service);
  if (problem === null) return true;
  const message =
    `${service} is not reachable at ${redact(SERVICE_URLS[service])} (${problem}); ` +
    `start it or point ${ENV_NAMES[service]} at one`;
  if (process.env.CI) {
    test(`${service} is reachable (required when CI is set)`, () => {
      throw new Error(message);
    });
  } else {
    const bar = '!'.repeat(100);
    console.warn(`\n${bar}\n!!! SKIPPING ${service} integration tests: ${message}\n${bar}\n`);
  }
  return false;
}

/** A database name unlikely to clash with a parallel test file or an earlier run. */
export function randomDatabaseName(): string {
  return `keyway_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export interface TempDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Creates a throw-away PostgreSQL database on the test server. */
export async function createTempPostgresDatabase(): Promise<TempDatabase> {
  const name = randomDatabaseName();
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: SERVICE_URLS.postgresql });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  return {
    name,
    url: withDatabase(SERVICE_URLS.postgresql, name),
    // FORCE: a test that failed half-way may have left connections open.
    drop: () => admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  };
}

// The configured MySQL URL names a database that need not exist, so server-level statements connect without
// one; the driver's URL syntax requires a database, hence a config object.
function mysqlServerConfig(): mariadb.ConnectionConfig {
  const u = new URL(SERVICE_URLS.mysql);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: u.password ? decodeURIComponent(u.password) : undefined,
  };
}

/** Creates a throw-away MySQL/MariaDB database (utf8mb4) on the test server. */
export async function createTempMysqlDatabase(): Promise<TempDatabase> {
  const name = randomDatabaseName();
  const admin = async (sql: string) => {
    const conn = await mariadb.createConnection(mysqlServerConfig());
    try {
      await conn.query(sql);
    } finally {
      await conn.end();
    }
  };
  await admin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  return {
    name,
    url: withDatabase(SERVICE_URLS.mysql, name),
    drop: () => admin(`DROP DATABASE IF EXISTS \`${name}\``),
  };
}
