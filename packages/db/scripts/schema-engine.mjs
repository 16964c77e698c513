// Drives Prisma's schema engine (the wasm build) in-process, for development and tests only: the Prisma 7 CLI
// needs a native schema-engine binary that this project cannot download, and the app itself applies committed
// SQL with its own runner (src/migrate.ts) instead.
//
// The package's entry point does `import * as wasm from "./schema_engine_bg.wasm"`, which Node cannot import,
// so the module is instantiated by hand: compile the .wasm with the JS glue as its only import module, hand the
// exports to the glue (__wbg_set_wasm) and run the wasm start function once.
import process from 'node:process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ColumnTypeEnum,
  bindMigrationAwareSqlAdapterFactory,
  mockMigrationAwareAdapterFactory,
} from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);

/** @type {Promise<typeof import('@prisma/schema-engine-wasm')> | undefined} */
let loading;

function loadEngine() {
  loading ??= (async () => {
    // The package exports no ./package.json; its ./schema_engine_bg subpath (the glue) sits next to the .wasm.
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const pkgDir = dirname(gluePath);
    const glue = await import(pathToFileURL(gluePath).href);
    const { instance } = await globalThis.WebAssembly.instantiate(
      readFileSync(join(pkgDir, 'schema_engine_bg.wasm')),
      {
        './schema_engine_bg.js': glue,
      },
    );
    glue.__wbg_set_wasm(instance.exports);
    /** @type {{ __wbindgen_start: () => void }} */ (
      /** @type {unknown} */ (instance.exports)
    ).__wbindgen_start();
    return glue;
  })();
  return loading;
}

/**
 * Runs `fn` with a schema engine bound to `adapterFactory` (a migration-aware driver adapter factory), or, when
 * only database-free commands are needed (diff between schemas or from empty), to a stand-in for `provider`.
 * @template T
 * @param {{ provider: 'sqlite' | 'postgresql', adapterFactory?: import('@prisma/driver-adapter-utils').SqlMigrationAwareDriverAdapterFactory, datamodel?: string, log?: (msg: string) => void }} opts
 * @param {(engine: import('@prisma/schema-engine-wasm').SchemaEngine) => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withSchemaEngine(opts, fn) {
  const { SchemaEngine } = await loadEngine();
  const inner =
    opts.adapterFactory ??
    (opts.provider === 'postgresql'
      ? offlinePostgresAdapterFactory()
      : mockMigrationAwareAdapterFactory('sqlite'));
  // engine.free() leaves the adapters' connections open (a SQLite file would stay locked), so they are
  // tracked here and disposed afterwards.
  /** @type {import('@prisma/driver-adapter-utils').SqlDriverAdapter[]} */
  const opened = [];
  /** @param {import('@prisma/driver-adapter-utils').SqlDriverAdapter} a */
  const track = (a) => (opened.push(a), a);
  /** @type {import('@prisma/driver-adapter-utils').SqlMigrationAwareDriverAdapterFactory} */
  const factory = {
    provider: inner.provider,
    adapterName: inner.adapterName,
    connect: () => inner.connect().then(track),
    connectToShadowDb: () => inner.connectToShadowDb().then(track),
  };
  const engine = await SchemaEngine.new(
    { datamodels: opts.datamodel ? [['schema.prisma', opts.datamodel]] : undefined },
    (/** @type {string} */ msg) => opts.log?.(msg),
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  try {
    return await fn(engine);
  } finally {
    engine.free();
    for (const a of opened) await a.dispose().catch(() => {});
  }
}

// What `diff` prints instead of a script when there is nothing to do.
const EMPTY_MIGRATION = '-- This is an empty migration.';

export const noFilters = { externalTables: [], externalEnums: [] };

/**
 * The SQL script that turns `from` into `to` (both engine DiffTargets); '' when they are equivalent.
 * @param {import('@prisma/schema-engine-wasm').SchemaEngine} engine
 * @param {import('@prisma/schema-engine-wasm').DiffTarget} from
 * @param {import('@prisma/schema-engine-wasm').DiffTarget} to
 */
export async function diffScript(engine, from, to) {
  const result = await engine.diff({ from, to, script: true, exitCode: null, filters: noFilters });
  const script = (result.stdout ?? '').trim();
  return script === EMPTY_MIGRATION ? '' : script;
}

/** A DiffTarget for a schema given as text. @param {string} content */
export function datamodelTarget(content) {
  return { tag: /** @type {const} */ ('schemaDatamodel'), files: [{ path: 'schema.prisma', content }] };
}

/**
 * A DiffTarget for the live database behind the engine's adapter. The engine refuses `url` targets ("--from-url
 * and --to-url flags are no longer supported"); a schema's datasource is resolved through the adapter instead,
 * so any schema of the right provider serves.
 * @param {string} content
 */
export function liveDatabaseTarget(content) {
  return {
    tag: /** @type {const} */ ('schemaDatasource'),
    files: [{ path: 'schema.prisma', content }],
    configDir: process.cwd(),
  };
}

// On start-up the PostgreSQL connector asks the database for its version (to tell PostgreSQL from CockroachDB)
// even when it will only diff two schemas; this adapter answers that one probe and refuses everything else, so
// schema-to-schema diffs run with no server. The mock adapter of @prisma/driver-adapter-utils refuses the probe.
const VERSION_PROBE = /server_version_num/;

/** @returns {import('@prisma/driver-adapter-utils').SqlDriverAdapter} */
function offlinePostgresAdapter() {
  const refuse = () => Promise.reject(new Error('offline PostgreSQL stub: no database behind this adapter'));
  return {
    provider: 'postgres',
    adapterName: 'keyway-offline-postgres',
    queryRaw: (/** @type {import('@prisma/driver-adapter-utils').SqlQuery} */ q) =>
      VERSION_PROBE.test(q.sql)
        ? Promise.resolve({
            columnNames: ['exists', 'version', 'numeric_version'],
            columnTypes: [ColumnTypeEnum.Boolean, ColumnTypeEnum.Text, ColumnTypeEnum.Int32],
            rows: [[true, 'PostgreSQL 15.0 (offline stub)', 150000]],
          })
        : refuse(),
    executeRaw: refuse,
    executeScript: refuse,
    startTransaction: refuse,
    dispose: () => Promise.resolve(),
  };
}

/** @returns {import('@prisma/driver-adapter-utils').SqlMigrationAwareDriverAdapterFactory} */
export function offlinePostgresAdapterFactory() {
  return {
    provider: 'postgres',
    adapterName: 'keyway-offline-postgres',
    connect: () => Promise.resolve(offlinePostgresAdapter()),
    connectToShadowDb: () => Promise.resolve(offlinePostgresAdapter()),
  };
}

/**
 * The engine's view of a migrations folder (what the Prisma CLI passes it), for diagnoseMigrationHistory etc.
 * @param {string} dir
 * @returns {import('@prisma/schema-engine-wasm').MigrationList}
 */
export function migrationsList(dir) {
  const lock = join(dir, 'migration_lock.toml');
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lock) ? readFileSync(lock, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort()
      .map((name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: {
            tag: /** @type {const} */ ('ok'),
            value: readFileSync(join(dir, name, 'migration.sql'), 'utf8'),
          },
        },
      })),
  };
}
