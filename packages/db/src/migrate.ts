// Applies the committed migrations (prisma/<provider>/migrations/*/migration.sql) at start-up.
//
// Why not Prisma: the Prisma 7 CLI needs a native schema-engine binary it downloads on first use, which
// air-gapped servers and CI cannot fetch, and the wasm engine is slow to start and has no MySQL connector. The
// SQL is already committed, so applying it is simple; this runner talks to the drivers directly and keeps the
// bookkeeping Prisma keeps (the `_prisma_migrations` table, same columns, sha256 checksums), so
// `prisma migrate status/deploy` on a machine that has the binary accepts the history it writes.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Mariadb from 'mariadb';
import type * as Pg from 'pg';
import { mariadbUrl, postgresSchemaFromUrl, providerFromUrl, type Provider } from './provider';
import { openSqliteFile } from './sqlite-file';
import { lazyRequire } from './lazy-require';

export interface ApplyMigrationsOptions {
  /** The folder holding `<timestamp>_<name>/migration.sql`; found with {@link resolveMigrationsDir} if omitted. */
  migrationsDir?: string;
  /** Receives one line per notable step (migration applied, unknown history, …). */
  log?: (message: string) => void;
}

export interface ApplyMigrationsResult {
  provider: Provider;
  migrationsDir: string;
  /** Names of the migrations this call applied, in order. */
  applied: string[];
  /** How many of the local migrations were already applied. */
  alreadyApplied: number;
}

export interface MigrationFile {
  /** The directory name, e.g. `20261126063557_init`; migrations run in name order. */
  name: string;
  sql: string;
  /** sha256 hex of migration.sql's bytes, as Prisma records it. */
  checksum: string;
}

/** Written by scripts/migration.mjs into a MySQL migration that still has to be hand-written. */
const MYSQL_PLACEHOLDER_MARKER = '-- keyway:mysql-placeholder';

/** Where migrations live relative to a project (or bundle) root: `prisma/<provider>/migrations`. */
export function migrationsRelativePath(provider: Provider): string {
  return join('prisma', provider, 'migrations');
}

/**
 * Finds `prisma/<provider>/migrations` by walking up from this module's directory, then from `process.cwd()`.
 *
 * From source (vitest, tsx) the walk from packages/db/src reaches the repository root. A bundled app has no
 * packages/db/src, so its build step must copy the folders next to the bundle, e.g.
 * `cpSync(resolveMigrationsDir(p), join(outDir, migrationsRelativePath(p)), { recursive: true })` for each
 * provider; the walk from the bundle's directory then finds them. Pass `migrationsDir` to skip the search.
 */
export function resolveMigrationsDir(
  provider: Provider,
  startDirs: readonly string[] = defaultStartDirs(),
): string {
  const rel = migrationsRelativePath(provider);
  for (const start of startDirs) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, rel);
      if (existsSync(candidate)) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`cannot find ${rel} in or above ${startDirs.join(' or ')}; pass migrationsDir explicitly`);
}

function defaultStartDirs(): string[] {
  const dirs: string[] = [];
  // import.meta.url is a file: URL from source and from an ESM bundle; anything else is not worth failing on.
  try {
    dirs.push(dirname(fileURLToPath(import.meta.url)));
  } catch {
    /* not a file: module */
  }
  dirs.push(process.cwd());
  return dirs;
}

/** Reads the migrations of a folder in application order, checking its migration_lock.toml names `provider`. */
export function readMigrations(migrationsDir: string, provider: Provider): MigrationFile[] {
  if (!existsSync(migrationsDir)) throw new Error(`migrations folder ${migrationsDir} does not exist`);
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  if (existsSync(lockPath)) {
    const locked = /^\s*provider\s*=\s*"([^"]+)"/m.exec(readFileSync(lockPath, 'utf8'))?.[1];
    if (locked && locked !== provider) {
      throw new Error(
        `${migrationsDir} holds ${locked} migrations, not ${provider} ones (migration_lock.toml)`,
      );
    }
  }
  const migrations = readdirSync(migrationsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(migrationsDir, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(migrationsDir, name, 'migration.sql'));
      return { name, sql: bytes.toString('utf8'), checksum: sha256(bytes) };
    });
  // An empty list almost always means a bundle without its migrations; starting on an empty schema would only
  // fail later and less clearly.
  if (migrations.length === 0) throw new Error(`no migrations found in ${migrationsDir}`);
  return migrations;
}

/**
 * Applies the pending committed migrations to the database at `url` (provider picked from its scheme), each in
 * its own transaction on SQLite and PostgreSQL (MySQL commits DDL implicitly), recording them in
 * `_prisma_migrations`. Throws, before changing anything, if an applied migration's file changed or a previous
 * run failed half-way.
 */
export async function applyMigrations(
  url: string,
  options: ApplyMigrationsOptions = {},
): Promise<ApplyMigrationsResult> {
  const provider = providerFromUrl(url);
  const log = options.log ?? (() => {});
  const migrationsDir = options.migrationsDir ?? resolveMigrationsDir(provider);
  const migrations = readMigrations(migrationsDir, provider);
  const db = await openDriver(provider, url);
  try {
    const done = checkHistory(await db.rows(), migrations, provider, log);
    const pending = migrations.filter((m) => !done.has(m.name));
    const placeholder = pending.find((m) => provider === 'mysql' && m.sql.includes(MYSQL_PLACEHOLDER_MARKER));
    if (placeholder) {
      throw new Error(
        `the MySQL migration ${placeholder.name} is still a placeholder: hand-write its SQL ` +
          `(prisma/mysql/migrations/${placeholder.name}/migration.sql) before deploying`,
      );
    }
    const applied: string[] = [];
    for (const m of pending) {
      try {
        if (await db.apply(m)) {
          applied.push(m.name);
          log(`applied migration ${m.name}`);
        }
      } catch (error) {
        throw new Error(`migration ${m.name} failed on ${provider}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    }
    return { provider, migrationsDir, applied, alreadyApplied: migrations.length - pending.length };
  } finally {
    await db.close();
  }
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/** Returns the names of the local migrations already applied; throws on a failed or edited one. */
function checkHistory(
  rows: MigrationRow[],
  migrations: MigrationFile[],
  provider: Provider,
  log: (m: string) => void,
) {
  const live = rows.filter((r) => r.rolled_back_at === null);
  const failed = live.filter((r) => r.finished_at === null).map((r) => r.migration_name);
  if (failed.length > 0) {
    throw new Error(
      `migration ${failed.join(', ')} failed earlier and may have left the ${provider} database half-changed. ` +
        'Repair the schema by hand, then mark it rolled back (`prisma migrate resolve --rolled-back <name>`, or ' +
        'set rolled_back_at on its _prisma_migrations row) so it is applied again.',
    );
  }
  const local = new Map(migrations.map((m) => [m.name, m]));
  const done = new Set<string>();
  const edited: string[] = [];
  const unknown: string[] = [];
  for (const row of live) {
    const m = local.get(row.migration_name);
    if (!m) unknown.push(row.migration_name);
    else if (!checksumMatches(m.sql, row.checksum)) edited.push(row.migration_name);
    else done.add(row.migration_name);
  }
  if (edited.length > 0) {
    throw new Error(
      `migration ${edited.join(', ')} was modified after it was applied to this database (checksum mismatch). ` +
        'Restore the original migration.sql; a schema change needs a new migration.',
    );
  }
  if (unknown.length > 0) {
    log(
      `warning: the database has migrations this build does not know (${unknown.join(', ')}); a newer version ran?`,
    );
  }
  return done;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// Prisma compares with the file's line endings flipped too, so a checkout with other line endings still matches.
function checksumMatches(sql: string, checksum: string): boolean {
  const lf = sql.replace(/\r\n/g, '\n');
  return [sql, lf, lf.replace(/\n/g, '\r\n')].some((variant) => sha256(variant) === checksum);
}

/** True when the script has something besides comments and whitespace (MySQL rejects an empty query). */
function hasStatements(sql: string): boolean {
  return (
    sql
      .replace(/--[^\n]*/g, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .trim() !== ''
  );
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface Driver {
  /** Rows of `_prisma_migrations`, created if missing. */
  rows(): Promise<MigrationRow[]>;
  /** Applies one migration; false if another process applied it meanwhile. */
  apply(m: MigrationFile): Promise<boolean>;
  close(): Promise<void>;
}

function openDriver(provider: Provider, url: string): Promise<Driver> {
  switch (provider) {
    case 'sqlite':
      return Promise.resolve(openSqlite(url));
    case 'postgresql':
      return openPostgres(url);
    case 'mysql':
      return openMysql(url);
  }
}

// The bookkeeping table exactly as Prisma's schema engine creates it for each provider.
const SQLITE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

const POSTGRES_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

const MYSQL_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             DATETIME(3),
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          DATETIME(3),
    started_at              DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_steps_count     INTEGER UNSIGNED NOT NULL DEFAULT 0
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`;

const ROWS_QUERY =
  'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at';

function openSqlite(url: string): Driver {
  const db = openSqliteFile(url);
  db.exec(SQLITE_MIGRATIONS_TABLE);
  const isDone = db.prepare(
    'SELECT 1 FROM _prisma_migrations WHERE migration_name = ? AND finished_at IS NOT NULL AND rolled_back_at IS NULL',
  );
  const insert = db.prepare(
    'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) ' +
      'VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)',
  );
  // Prisma stores SQLite timestamps as RFC 3339 text with an explicit offset.
  const now = () => new Date().toISOString().replace('Z', '+00:00');
  const run = db.transaction((m: MigrationFile): boolean => {
    if (isDone.get(m.name)) return false;
    const startedAt = now();
    if (hasStatements(m.sql)) db.exec(m.sql);
    const violations = db.pragma('foreign_key_check') as unknown[];
    if (violations.length > 0) throw new Error(`it leaves ${violations.length} foreign key violation(s)`);
    insert.run(randomUUID(), m.checksum, now(), m.name, startedAt);
    return true;
  });
  return {
    rows: () => Promise.resolve(db.prepare(ROWS_QUERY).all() as MigrationRow[]),
    apply: (m) => {
      // SQLite's documented procedure for schema changes: with foreign keys on, the DROP TABLE in a Prisma
      // "RedefineTables" step would fire ON DELETE CASCADE and empty child tables. The pragma is ignored inside
      // a transaction, so it is switched off around it and integrity is checked (foreign_key_check) before
      // commit instead. BEGIN IMMEDIATE takes the write lock up front, so two processes cannot both apply.
      db.pragma('foreign_keys = OFF');
      try {
        return Promise.resolve(run.immediate(m));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      } finally {
        db.pragma('foreign_keys = ON');
      }
    },
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}

// The drivers of the other databases, loaded when one is migrated (see lazyRequire).
const loadPg = lazyRequire<typeof Pg>(import.meta.url, 'pg');
const loadMariadb = lazyRequire<typeof Mariadb>(import.meta.url, 'mariadb');

// Prisma's own advisory lock key, so this runner and `prisma migrate deploy` never run at the same time.
const PG_LOCK_KEY = 72707369;

async function openPostgres(url: string): Promise<Driver> {
  const pg = loadPg();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const schema = postgresSchemaFromUrl(url);
    if (schema) {
      // Like Prisma, `?schema=` selects (and if needed creates) the schema the tables live in.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
      await client.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
    }
    await client.query('SELECT pg_advisory_lock($1)', [PG_LOCK_KEY]);
    await client.query(POSTGRES_MIGRATIONS_TABLE);
  } catch (error) {
    await client.end();
    throw error;
  }
  return {
    rows: async () => (await client.query<MigrationRow>(ROWS_QUERY)).rows,
    apply: async (m) => {
      await client.query('BEGIN');
      try {
        const id = randomUUID();
        await client.query(
          'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) ' +
            'VALUES ($1, $2, $3, clock_timestamp(), 0)',
          [id, m.checksum, m.name],
        );
        // No parameters: pg sends it as a simple query, which may hold many statements (and $$ bodies).
        if (hasStatements(m.sql)) await client.query(m.sql);
        await client.query(
          'UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1',
          [id],
        );
        await client.query('COMMIT');
        return true;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    close: async () => {
      await client.query('SELECT pg_advisory_unlock($1)', [PG_LOCK_KEY]).catch(() => {});
      await client.end();
    },
  };
}

async function openMysql(url: string): Promise<Driver> {
  // multipleStatements: a migration.sql is one script of many statements.
  const conn = await loadMariadb().createConnection(mariadbUrl(url, { multipleStatements: 'true' }));
  try {
    // Prisma's lock name, for the same reason as PG_LOCK_KEY.
    const [lock] = await conn.query<{ locked: number | bigint | null }[]>(
      "SELECT GET_LOCK('prisma_migrate', 60) AS locked",
    );
    if (Number(lock?.locked) !== 1) throw new Error('timed out waiting for the prisma_migrate lock');
    await conn.query(MYSQL_MIGRATIONS_TABLE);
  } catch (error) {
    await conn.end();
    throw error;
  }
  return {
    rows: () => conn.query<MigrationRow[]>(ROWS_QUERY),
    apply: async (m) => {
      // MySQL commits every DDL statement on its own, so a transaction would not help; as Prisma does, the row
      // is written first and a failure is left in it (logs, no finished_at) for the next run to refuse.
      const id = randomUUID();
      await conn.query(
        'INSERT INTO _prisma_migrations (id, checksum, migration_name, applied_steps_count) VALUES (?, ?, ?, 0)',
        [id, m.checksum, m.name],
      );
      try {
        if (hasStatements(m.sql)) await conn.query(m.sql);
      } catch (error) {
        await conn
          .query('UPDATE _prisma_migrations SET logs = ? WHERE id = ?', [errorMessage(error), id])
          .catch(() => {});
        throw error;
      }
      await conn.query(
        'UPDATE _prisma_migrations SET finished_at = CURRENT_TIMESTAMP(3), applied_steps_count = 1 WHERE id = ?',
        [id],
      );
      return true;
    },
    close: async () => {
      await conn.query("SELECT RELEASE_LOCK('prisma_migrate')").catch(() => {});
      await conn.end();
    },
  };
}
