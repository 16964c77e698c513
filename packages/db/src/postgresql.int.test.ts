import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derivedSchemaPath } from '../scripts/schema-derive.mjs';
import {
  datamodelTarget,
  diffScript,
  liveDatabaseTarget,
  migrationsList,
  noFilters,
  withSchemaEngine,
} from '../scripts/schema-engine.mjs';
import { createPrismaClient } from './client';
import { applyMigrations, readMigrations, resolveMigrationsDir } from './migrate';
import { introspectablePostgresAdapter } from './testing/engine';
import { exerciseClient } from './testing/scenario';
import { createTempPostgresDatabase, serviceAvailable, type TempDatabase } from './testing/services';

const available = await serviceAvailable('postgresql');

describe.skipIf(!available)('PostgreSQL', () => {
  const committedDir = resolveMigrationsDir('postgresql');
  const committed = readMigrations(committedDir, 'postgresql');
  let db: TempDatabase;
  let tmp: string;

  beforeAll(async () => {
    db = await createTempPostgresDatabase();
    tmp = mkdtempSync(join(tmpdir(), 'keyway-pg-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  it('applies the migrations once and records them as Prisma does', async () => {
    expect((await applyMigrations(db.url)).applied).toEqual(committed.map((m) => m.name));
    expect(await applyMigrations(db.url)).toMatchObject({ applied: [], alreadyApplied: committed.length });

    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      'SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(rows.map((r) => r.migration_name)).toEqual(committed.map((m) => m.name));
    for (const row of rows) {
      const sql = readFileSync(join(committedDir, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.finished_at).toBeInstanceOf(Date);
    }

    const list = migrationsList(committedDir);
    const diagnosis = await withSchemaEngine(
      { provider: 'postgresql', adapterFactory: introspectablePostgresAdapter(db.url) },
      (engine) =>
        engine.diagnoseMigrationHistory({
          migrationsList: list,
          optInToShadowDatabase: false,
          filters: noFilters,
        }),
    );
    expect(diagnosis).toEqual({
      editedMigrationNames: [],
      failedMigrationNames: [],
      hasMigrationsTable: true,
      history: null,
    });
  });

  it('the committed migrations produce exactly prisma/postgresql/schema.prisma', async () => {
    const schema = readFileSync(derivedSchemaPath('postgresql'), 'utf8');
    const drift = await withSchemaEngine(
      { provider: 'postgresql', adapterFactory: introspectablePostgresAdapter(db.url) },
      (engine) => diffScript(engine, liveDatabaseTarget(schema), datamodelTarget(schema)),
    );
    expect(drift).toBe('');
  });

  it('the Prisma client works', async () => {
    const conn = createPrismaClient(db.url);
    try {
      expect(conn.provider).toBe('postgresql');
      await exerciseClient(conn.prisma);
    } finally {
      await conn.close();
    }
  });

  it('rolls a failing migration back entirely', async () => {
    const migrationsDir = join(tmp, 'migrations');
    cpSync(committedDir, migrationsDir, { recursive: true });
    mkdirSync(join(migrationsDir, '99990101000000_bad'));
    writeFileSync(
      join(migrationsDir, '99990101000000_bad', 'migration.sql'),
      'CREATE TABLE "half" ("id" INTEGER);\nINSERT INTO "missing" VALUES (1);\n',
    );
    await expect(applyMigrations(db.url, { migrationsDir })).rejects.toThrow(
      /99990101000000_bad failed on postgresql/,
    );
    expect(await query("SELECT 1 FROM pg_tables WHERE tablename = 'half'")).toEqual([]);
    expect(
      await query("SELECT 1 FROM _prisma_migrations WHERE migration_name = '99990101000000_bad'"),
    ).toEqual([]);
  });

  it('honours ?schema= like Prisma: tables and history live in that schema', async () => {
    const url = `${db.url}?schema=keyway_alt`;
    await applyMigrations(url);
    const tables = await query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'keyway_alt' ORDER BY tablename",
    );
    expect(tables.map((t) => t.tablename)).toEqual([
      '_prisma_migrations',
      'access_keys',
      'alert_channels',
      'alert_history',
      'api_keys',
      'audit_logs',
      'group_sub_groups',
      'groups',
      'hourly_stats',
      'model_prices',
      'request_logs',
      'sessions',
      'settings',
      'tasks',
      'usage_batches',
    ]);
    const conn = createPrismaClient(url);
    try {
      await conn.prisma.setting.create({ data: { key: 'where', value: '"alt"' } });
      expect(await query('SELECT key FROM keyway_alt.settings')).toEqual([{ key: 'where' }]);
    } finally {
      await conn.close();
    }
  });
});
