import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import type * as MariadbAdapter from '@prisma/adapter-mariadb';
import type * as PgAdapter from '@prisma/adapter-pg';
import { PrismaClient as MysqlPrismaClient } from './generated/mysql/client';
import { PrismaClient as PostgresPrismaClient } from './generated/postgresql/client';
import { PrismaClient as SqlitePrismaClient } from './generated/sqlite/client';
import {
  mariadbUrl,
  postgresSchemaFromUrl,
  providerFromUrl,
  sqlitePathFromUrl,
  type Provider,
} from './provider';
import { SQLITE_BUSY_TIMEOUT_MS, openSqliteFile } from './sqlite-file';
import { lazyRequire } from './lazy-require';

// Loaded for the database in use only (see lazyRequire).
const pgAdapter = lazyRequire<typeof PgAdapter>(import.meta.url, '@prisma/adapter-pg');
const mariadbAdapter = lazyRequire<typeof MariadbAdapter>(import.meta.url, '@prisma/adapter-mariadb');

/**
 * The Prisma client type repositories are written against, whatever the database.
 *
 * A generated client accepts only a driver adapter of its own provider, so there is one client per provider
 * (src/generated/<provider>), all generated from schemas that scripts/schemas.mjs derives from the one source
 * schema: same models, fields and relations. TypeScript still sees three unrelated class types (provider
 * literals, native-type metadata, a few provider-only methods), so the PostgreSQL and MySQL clients are cast to
 * the SQLite one. SQLite's is the canonical type because it offers the least: no `mode: 'insensitive'`, no
 * `createMany({ skipDuplicates })`. One thing it has that MySQL lacks is `createManyAndReturn` /
 * `updateManyAndReturn`: do not use those in shared code.
 */
export type DbClient = SqlitePrismaClient;

export interface DbConnection {
  provider: Provider;
  prisma: DbClient;
  /** Disconnects Prisma and closes the driver's connections (pool). */
  close(): Promise<void>;
}

/**
 * Creates the Prisma client for a database URL: `file:` → SQLite (better-sqlite3), `postgres(ql)://` →
 * PostgreSQL (pg), `mysql://` / `mariadb://` → MySQL or MariaDB (mariadb). Connects lazily, on first query.
 */
export function createPrismaClient(url: string): DbConnection {
  const provider = providerFromUrl(url);
  const prisma = newClient(provider, url);
  return { provider, prisma, close: () => prisma.$disconnect() };
}

function newClient(provider: Provider, url: string): DbClient {
  switch (provider) {
    case 'sqlite': {
      // The adapter opens the file itself but creates no directory and leaves the journal mode alone; opening
      // it once here does both (WAL persists in the file).
      openSqliteFile(url).close();
      const path = sqlitePathFromUrl(url);
      const adapter = new PrismaBetterSqlite3({ url: path, timeout: SQLITE_BUSY_TIMEOUT_MS });
      return new SqlitePrismaClient({ adapter });
    }
    case 'postgresql': {
      const schema = postgresSchemaFromUrl(url);
      // The adapter's `schema` qualifies Prisma's own queries only; raw statements (key imports) resolve tables
      // through the search path, which Prisma's engine used to set from ?schema= too.
      const searchPath = postgresSearchPathOption(url);
      const adapter = new (pgAdapter().PrismaPg)(
        { connectionString: url, ...(searchPath ? { options: searchPath } : {}) },
        schema ? { schema } : undefined,
      );
      return new PostgresPrismaClient({ adapter }) as unknown as DbClient;
    }
    case 'mysql': {
      const adapter = new (mariadbAdapter().PrismaMariaDb)(mariadbUrl(url));
      return new MysqlPrismaClient({ adapter }) as unknown as DbClient;
    }
  }
}

/**
 * The `options` that make a `pg` connection resolve unqualified tables in the URL's `?schema=` (raw statements
 * need it; Prisma's engine used to set it), or undefined without one.
 */
export function postgresSearchPathOption(url: string): string | undefined {
  const schema = postgresSchemaFromUrl(url);
  return schema && `-c search_path="${schema.replaceAll('"', '""').replaceAll(' ', '\\ ')}"`;
}
