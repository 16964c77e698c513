import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  datamodelTarget,
  diffScript,
  migrationsList,
  noFilters,
  withSchemaEngine,
} from '../scripts/schema-engine.mjs';
import { applyMigrations, readMigrations, resolveMigrationsDir } from './migrate';

const tmp = mkdtempSync(join(tmpdir(), 'keyway-migrate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const committedDir = resolveMigrationsDir('sqlite');
const committed = readMigrations(committedDir, 'sqlite');
let seq = 0;

/** A fresh database URL (in a directory that does not exist yet) and a private copy of the migrations. */
function sandbox() {
  const dir = join(tmp, `case-${++seq}`);
  const migrationsDir = join(dir, 'migrations');
  cpSync(committedDir, migrationsDir, { recursive: true });
  return {
    dir,
    file: join(dir, 'data', 'keyway.db'),
    url: `file:${join(dir, 'data', 'keyway.db')}`,
    migrationsDir,
  };
}

interface Row {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: string | null;
  rolled_back_at: string | null;
  applied_steps_count: number;
}

function migrationRows(file: string): Row[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT * FROM _prisma_migrations ORDER BY migration_name').all() as Row[];
  } finally {
    db.close();
  }
}

describe('applyMigrations on SQLite', () => {
  it('creates the file and its directory, applies every migration once, then nothing', async () => {
    const { file, url } = sandbox();
    const logs: string[] = [];
    const first = await applyMigrations(url, { log: (m) => logs.push(m) });
    expect(first).toMatchObject({ provider: 'sqlite', migrationsDir: committedDir, alreadyApplied: 0 });
    expect(first.applied).toEqual(committed.map((m) => m.name));
    expect(logs).toEqual(committed.map((m) => `applied migration ${m.name}`));

    const second = await applyMigrations(url);
    expect(second).toMatchObject({ applied: [], alreadyApplied: committed.length });

    const rows = migrationRows(file);
    expect(rows.map((r) => r.migration_name)).toEqual(committed.map((m) => m.name));
    for (const row of rows) {
      const sql = readFileSync(join(committedDir, row.migration_name, 'migration.sql'));
      expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row).toMatchObject({ rolled_back_at: null, applied_steps_count: 1 });
      expect(row.finished_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/);
    }
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it("writes a history Prisma's schema engine accepts as complete and unedited", async () => {
    const { file, url } = sandbox();
    await applyMigrations(url);
    const list = migrationsList(committedDir);
    const [diagnosis, apply] = await withSchemaEngine(
      { provider: 'sqlite', adapterFactory: new PrismaBetterSqlite3({ url: file }) },
      async (engine) => [
        await engine.diagnoseMigrationHistory({
          migrationsList: list,
          optInToShadowDatabase: false,
          filters: noFilters,
        }),
        await engine.applyMigrations({ migrationsList: list, filters: noFilters }),
      ],
    );
    expect(diagnosis).toEqual({
      editedMigrationNames: [],
      failedMigrationNames: [],
      hasMigrationsTable: true,
      history: null,
    });
    expect(apply).toEqual({ appliedMigrationNames: [] });
  });

  it('refuses to run when an applied migration was edited, and changes nothing', async () => {
    const { file, url, migrationsDir } = sandbox();
    await applyMigrations(url, { migrationsDir });
    const first = committed[0]?.name ?? '';
    appendFileSync(join(migrationsDir, first, 'migration.sql'), '\n-- an innocent-looking edit\n');
    mkdirSync(join(migrationsDir, '99990101000000_later'));
    writeFileSync(
      join(migrationsDir, '99990101000000_later', 'migration.sql'),
      'CREATE TABLE "later" ("id" INTEGER);\n',
    );
    await expect(applyMigrations(url, { migrationsDir })).rejects.toThrow(
      `migration ${first} was modified after it was applied to this database (checksum mismatch)`,
    );
    expect(migrationRows(file)).toHaveLength(committed.length);
  });

  it('accepts the same file with other line endings, as Prisma does', async () => {
    const { url, migrationsDir } = sandbox();
    await applyMigrations(url, { migrationsDir });
    for (const m of committed) {
      const path = join(migrationsDir, m.name, 'migration.sql');
      writeFileSync(path, readFileSync(path, 'utf8').replace(/\n/g, '\r\n'));
    }
    await expect(applyMigrations(url, { migrationsDir })).resolves.toMatchObject({ applied: [] });
  });

  it('rolls a failing migration back entirely, so it can be fixed and applied again', async () => {
    const { file, url, migrationsDir } = sandbox();
    const bad = join(migrationsDir, '99990101000000_bad');
    mkdirSync(bad);
    writeFileSync(
      join(bad, 'migration.sql'),
      'CREATE TABLE "half" ("id" INTEGER);\nINSERT INTO "missing" VALUES (1);\n',
    );
    await expect(applyMigrations(url, { migrationsDir })).rejects.toThrow(
      /migration 99990101000000_bad failed on sqlite: no such table: missing/,
    );
    const db = new Database(file, { readonly: true });
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).all()).toEqual([]);
    db.close();
    expect(migrationRows(file).map((r) => r.migration_name)).toEqual(committed.map((m) => m.name));

    writeFileSync(join(bad, 'migration.sql'), 'CREATE TABLE "half" ("id" INTEGER);\n');
    await expect(applyMigrations(url, { migrationsDir })).resolves.toMatchObject({
      applied: ['99990101000000_bad'],
    });
  });

  it("keeps child rows when a migration redefines a parent table (Prisma's RedefineTables)", async () => {
    const { file, url, migrationsDir } = sandbox();
    await applyMigrations(url, { migrationsDir });
    const db = new Database(file);
    db.exec(`INSERT INTO "groups" ("name", "channel", "upstreams", "proxyKeys", "paramOverrides", "modelRedirects",
      "headerRules", "config", "updatedAt") VALUES ('g', 'openai', '[]', '[]', '{}', '{}', '[]', '{}', 0)`);
    db.exec(
      `INSERT INTO "api_keys" ("groupId", "keyValue", "keyHash", "keyMasked", "updatedAt") VALUES (1, 'k', 'h', 'm', 0)`,
    );
    db.close();

    // Changing a column default makes the engine rebuild the table: create new, copy, DROP the old, rename. With
    // foreign keys enforced, that DROP would cascade to api_keys.
    const schema = readFileSync(join(committedDir, '..', 'schema.prisma'), 'utf8');
    const changed = schema.replace(/(sort\s+Int\s+)@default\(0\)/, '$1@default(5)');
    expect(changed).not.toBe(schema);
    const sql = await withSchemaEngine({ provider: 'sqlite' }, (engine) =>
      diffScript(engine, datamodelTarget(schema), datamodelTarget(changed)),
    );
    expect(sql).toContain('DROP TABLE "groups"');
    mkdirSync(join(migrationsDir, '99990101000000_sort_default'));
    writeFileSync(join(migrationsDir, '99990101000000_sort_default', 'migration.sql'), sql);
    await applyMigrations(url, { migrationsDir });

    const after = new Database(file, { readonly: true });
    expect(after.prepare('SELECT count(*) AS n FROM api_keys').get()).toEqual({ n: 1 });
    expect(after.pragma('foreign_key_check')).toEqual([]);
    after.close();
  });
});

describe('finding and reading migrations', () => {
  it('resolves the repository folder from the source tree', () => {
    expect(committedDir.replace(/\\/g, '/')).toMatch(/\/prisma\/sqlite\/migrations$/);
  });

  it('walks up from the given start directories, and says where it looked when it fails', () => {
    const root = join(tmp, 'bundle');
    mkdirSync(join(root, 'prisma', 'postgresql', 'migrations'), { recursive: true });
    mkdirSync(join(root, 'dist', 'chunks'), { recursive: true });
    expect(resolveMigrationsDir('postgresql', [join(root, 'dist', 'chunks')])).toBe(
      join(root, 'prisma', 'postgresql', 'migrations'),
    );
    expect(() => resolveMigrationsDir('mysql', [join(root, 'dist')])).toThrow(
      /cannot find prisma\/mysql\/migrations/,
    );
  });

  it('rejects a folder of another provider and an empty folder', () => {
    expect(() => readMigrations(committedDir, 'postgresql')).toThrow(
      /holds sqlite migrations, not postgresql/,
    );
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    expect(() => readMigrations(empty, 'sqlite')).toThrow(/no migrations found/);
  });
});
