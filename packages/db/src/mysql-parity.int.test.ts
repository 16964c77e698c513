// The MySQL migrations are hand-written (the wasm schema engine has no MySQL connector), so they are held to
// the engine-generated PostgreSQL ones, which postgresql.int.test.ts proves exact: after applying each
// provider's migrations to an empty database, both catalogs must list the same tables, columns (rough type,
// nullability, default), indexes (name, columns, uniqueness) and foreign keys (columns, target, actions).
import * as mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from './migrate';
import { mariadbUrl } from './provider';
import { mysqlCatalog, postgresCatalog, type Catalog } from './testing/catalog';
import {
  createTempMysqlDatabase,
  createTempPostgresDatabase,
  serviceAvailable,
  type TempDatabase,
} from './testing/services';

const available = (await serviceAvailable('postgresql')) && (await serviceAvailable('mysql'));

describe.skipIf(!available)('MySQL migrations match PostgreSQL', () => {
  let pgDb: TempDatabase;
  let myDb: TempDatabase;
  let pgCatalog: Catalog;

  beforeAll(async () => {
    [pgDb, myDb] = await Promise.all([createTempPostgresDatabase(), createTempMysqlDatabase()]);
    await Promise.all([applyMigrations(pgDb.url), applyMigrations(myDb.url)]);
    pgCatalog = await postgresCatalog(pgDb.url);
  });
  afterAll(async () => {
    await Promise.all([pgDb?.drop(), myDb?.drop()]);
  });

  it('has the same tables, columns, indexes and foreign keys', async () => {
    expect(Object.keys(pgCatalog.tables)).toContain('api_keys');
    expect(await mysqlCatalog(myDb.url)).toEqual(pgCatalog);
  });

  it('the comparison notices a missing index', async () => {
    const conn = await mariadb.createConnection(mariadbUrl(myDb.url));
    try {
      await conn.query('DROP INDEX `request_logs_model_idx` ON `request_logs`');
    } finally {
      await conn.end();
    }
    expect(await mysqlCatalog(myDb.url)).not.toEqual(pgCatalog);
  });
});
