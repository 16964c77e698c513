// Creates a migration from the change to prisma/schema.source.prisma, offline, with no database:
//
//   pnpm --filter @keyway/db run migration -- <name>
//
// For SQLite and PostgreSQL the SQL is the schema engine's `diff` (wasm build) from the *previous* derived schema
// (prisma/<provider>/schema.prisma as committed) to the schema derived from the source now. Diffing two schemas
// needs no database: the engine never queries one, apart from a PostgreSQL version probe that a stub adapter
// answers. The previous derived schema is a faithful picture of the migrations' end state because the drift
// tests (src/schema-drift.test.ts, src/postgresql.int.test.ts) prove the committed migrations reproduce it. That is why this
// script, not `run schemas`, rewrites the derived schemas: run `schemas` first and there is no "previous"
// left (restore it with `git checkout prisma/*/schema.prisma`). As a guard, the SQLite migrations are replayed
// into a temporary file and must match the previous schema before anything is written.
//
// MySQL: the wasm engine has no MySQL connector, so this writes a placeholder with the PostgreSQL SQL as a
// commented reference. Hand-write the MySQL DDL (InnoDB, utf8mb4, same table/column/index names) in its place;
// the migration runner refuses to apply a placeholder and src/mysql-parity.int.test.ts compares the result to
// PostgreSQL on live databases.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PROVIDERS, deriveAll, derivedSchemaPath, migrationsDirPath, repoRoot } from './schema-derive.mjs';
import { datamodelTarget, diffScript, liveDatabaseTarget, withSchemaEngine } from './schema-engine.mjs';

// Also spelled out in src/migrate.ts, which refuses to apply a file that still carries it.
const MYSQL_PLACEHOLDER_MARKER = '-- keyway:mysql-placeholder';

const name = process.argv.slice(2).find((a) => a !== '--');
if (!name || !/^[a-z0-9][a-z0-9_]*$/.test(name)) {
  process.stderr.write(
    'usage: pnpm --filter @keyway/db run migration -- <name>   (lower-case letters, digits, _)\n',
  );
  process.exit(2);
}

const next = deriveAll();
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const dirName = `${stamp}_${name}`;

/** @param {string} provider */
function listMigrations(provider) {
  const dir = migrationsDirPath(provider);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort();
}

/** @param {string} provider */
function previousSchema(provider) {
  if (listMigrations(provider).length === 0) return null;
  const path = derivedSchemaPath(provider);
  if (!existsSync(path)) throw new Error(`${relative(repoRoot, path)} is missing but migrations exist`);
  return readFileSync(path, 'utf8');
}

// Replays the committed SQLite migrations into a scratch file and checks they end where the previous derived
// schema says, so a stale "previous" cannot produce a wrong migration.
/** @param {string} prev */
async function assertSqlitePreviousMatchesMigrations(prev) {
  const dir = mkdtempSync(join(tmpdir(), 'keyway-migration-'));
  const file = join(dir, 'replay.db');
  try {
    const db = new Database(file);
    for (const m of listMigrations('sqlite'))
      db.exec(readFileSync(join(migrationsDirPath('sqlite'), m, 'migration.sql'), 'utf8'));
    db.close();
    const drift = await withSchemaEngine(
      { provider: 'sqlite', adapterFactory: new PrismaBetterSqlite3({ url: `file:${file}` }) },
      (engine) => diffScript(engine, liveDatabaseTarget(prev), datamodelTarget(prev)),
    );
    if (drift !== '') {
      throw new Error(
        'prisma/sqlite/schema.prisma no longer matches the committed migrations (did you run `schemas` already?).\n' +
          'Restore it with `git checkout prisma/*/schema.prisma` and run this again. Difference:\n' +
          drift,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** @param {'sqlite' | 'postgresql'} provider */
async function migrationSql(provider) {
  const prev = previousSchema(provider);
  if (prev !== null && provider === 'sqlite') await assertSqlitePreviousMatchesMigrations(prev);
  const to = next[provider];
  if (to === undefined) throw new Error(`no derived schema for ${provider}`);
  const script = await withSchemaEngine({ provider }, (engine) =>
    diffScript(engine, prev === null ? { tag: 'empty' } : datamodelTarget(prev), datamodelTarget(to)),
  );
  return tidy(script);
}

// The engine's diff from nothing starts PostgreSQL scripts with CREATE SCHEMA IF NOT EXISTS "public"; that
// statement needs CREATE on the database (managed servers often grant only a schema) and the schema exists in
// any usable setup, so it is dropped. Scripts end with exactly one newline.
/** @param {string} script */
function tidy(script) {
  const s = script.replace(/^-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n+/m, '').trim();
  return s === '' ? '' : `${s}\n`;
}

/** @param {string} provider */
function writeLock(provider) {
  const path = join(migrationsDirPath(provider), 'migration_lock.toml');
  if (existsSync(path)) return;
  mkdirSync(migrationsDirPath(provider), { recursive: true });
  writeFileSync(
    path,
    `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${provider}"\n`,
  );
}

async function main() {
  const sqlite = await migrationSql('sqlite');
  const postgresql = await migrationSql('postgresql');
  if (sqlite === '' && postgresql === '') {
    process.stdout.write('no schema changes: nothing to migrate\n');
    return;
  }

  /** @type {Record<string, string>} */
  const scripts = {
    sqlite,
    postgresql,
    mysql: [
      MYSQL_PLACEHOLDER_MARKER,
      '-- Hand-write the MySQL/MariaDB DDL for this migration here (InnoDB, utf8mb4, the same table, column, index',
      '-- and constraint names as PostgreSQL), then delete these comments. The PostgreSQL migration, for reference:',
      '--',
      ...postgresql
        .trimEnd()
        .split('\n')
        .map((l) => (l ? `-- ${l}` : '--')),
      '',
    ].join('\n'),
  };

  for (const provider of PROVIDERS) {
    writeLock(provider);
    const dir = join(migrationsDirPath(provider), dirName);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'migration.sql'), scripts[provider] ?? '');
    process.stdout.write(`wrote ${relative(repoRoot, join(dir, 'migration.sql'))}\n`);
  }
  for (const provider of PROVIDERS) writeFileSync(derivedSchemaPath(provider), next[provider] ?? '');
  process.stdout.write('updated prisma/<provider>/schema.prisma; regenerating the clients\n');
  const generated = spawnSync(
    process.execPath,
    [join(dirname(fileURLToPath(import.meta.url)), 'generate.mjs')],
    {
      stdio: 'inherit',
    },
  );
  if (generated.status !== 0) throw new Error('client generation failed');
  process.stdout.write(`NEXT: hand-write prisma/mysql/migrations/${dirName}/migration.sql\n`);
}

try {
  await main();
} catch (error) {
  // The messages are written for people; a stack trace would bury them.
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
