import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient } from './client';
import { applyMigrations, readMigrations, resolveMigrationsDir } from './migrate';
import { mariadbUrl } from './provider';
import { exerciseClient } from './testing/scenario';
import { createTempMysqlDatabase, serviceAvailable, type TempDatabase } from './testing/services';

const available = await serviceAvailable('mysql');

describe.skipIf(!available)('MySQL / MariaDB', () => {
  const committedDir = resolveMigrationsDir('mysql');
  const committed = readMigrations(committedDir, 'mysql');
  let db: TempDatabase;
  let tmp: string;

  beforeAll(async () => {
    db = await createTempMysqlDatabase();
    tmp = mkdtempSync(join(tmpdir(), 'keyway-mysql-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function query<T>(sql: string): Promise<T[]> {
    const conn = await mariadb.createConnection(mariadbUrl(db.url));
    try {
      return await conn.query<T[]>(sql);
    } finally {
      await conn.end();
    }
  }

  /** A copy of the committed migrations plus one extra migration with the given SQL. */
  function migrationsWith(name: string, sql: string): string {
    const dir = join(tmp, name);
    cpSync(committedDir, dir, { recursive: true });
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'migration.sql'), sql);
    return dir;
  }

  it('applies the hand-written migrations once and records them as Prisma does', async () => {
    expect((await applyMigrations(db.url)).applied).toEqual(committed.map((m) => m.name));
    expect(await applyMigrations(db.url)).toMatchObject({ applied: [], alreadyApplied: committed.length });
    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
    }>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(committed.map((m) => m.name));
    for (const row of rows) {
      const sql = readFileSync(join(committedDir, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.applied_steps_count).toBe(1);
    }
    const engines = await query<{ ENGINE: string; TABLE_COLLATION: string }>(
      'SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
    );
    for (const t of engines) expect(t).toEqual({ ENGINE: 'InnoDB', TABLE_COLLATION: 'utf8mb4_unicode_ci' });
  });

  it('the Prisma client works', async () => {
    const conn = createPrismaClient(db.url);
    try {
      expect(conn.provider).toBe('mysql');
      await exerciseClient(conn.prisma);
    } finally {
      await conn.close();
    }
  });

  it('refuses to apply a MySQL migration that is still the generated placeholder', async () => {
    const migrationsDir = migrationsWith(
      '99990101000000_todo',
      '-- keyway:mysql-placeholder\n-- CREATE TABLE …\n',
    );
    await expect(applyMigrations(db.url, { migrationsDir })).rejects.toThrow(
      /99990101000000_todo is still a placeholder/,
    );
  });

  it('records a failed migration and refuses to continue until it is resolved, as Prisma does', async () => {
    const migrationsDir = migrationsWith(
      '99990101000001_bad',
      'CREATE TABLE `half` (`id` INTEGER NOT NULL);\nINSERT INTO `missing` VALUES (1);\n',
    );
    await expect(applyMigrations(db.url, { migrationsDir })).rejects.toThrow(
      /99990101000001_bad failed on mysql/,
    );
    const [row] = await query<{ finished_at: Date | null; logs: string | null }>(
      "SELECT finished_at, logs FROM _prisma_migrations WHERE migration_name = '99990101000001_bad'",
    );
    expect(row?.finished_at).toBeNull();
    expect(row?.logs).toMatch(/missing/);
    await expect(applyMigrations(db.url, { migrationsDir })).rejects.toThrow(
      /99990101000001_bad failed earlier/,
    );
  });
});
