// `db:copy`: copies a Keyway database to another (SQLite, PostgreSQL, MySQL/MariaDB in any direction), ids
// kept, resumably. Table by table in foreign-key order, each in primary-key pages; every page is inserted in one
// target transaction together with the table's progress record, so an interrupted run goes on from the last
// committed page when started again, and a finished one finds nothing new.
import { applyMigrations } from '../migrate';
import { providerFromUrl } from '../provider';
import {
  CopyRefusedError,
  checkResumable,
  checkShape,
  checkSourceSchema,
  checkTargetEmpty,
  progressKey,
} from './checks';
import type { CopyEndpoint, TableProgress, TableShape } from './endpoint';
import { encodeKey, keyOf } from './endpoint';
import { databaseIdentity, describeDatabase } from './identity';
import { copyModels, type CopyModel } from './model';
import { openMysqlEndpoint } from './mysql-endpoint';
import { openPostgresEndpoint } from './postgres-endpoint';
import { openSqliteEndpoint } from './sqlite-endpoint';
import type { CopyValue } from './values';

export interface CopyDatabaseOptions {
  /** Source database URL (`file:`, `postgresql://`, `mysql://` / `mariadb://`). */
  from: string;
  /** Target database URL; migrated first. */
  to: string;
  /** Rows per page and transaction (500). */
  batchSize?: number;
  /** Receives progress lines. */
  log?: (line: string) => void;
  /** Test seam: runs after each committed page; a throw stops the copy there, as a crash would. */
  onBatch?: (progress: { table: string; copied: number; batch: number }) => void | Promise<void>;
}

export interface CopiedTable {
  table: string;
  model: string;
  /** Rows this run copied. */
  copied: number;
  /** Rows in the target table afterwards. */
  rows: number;
  /** Rows in the source table. */
  sourceRows: number;
}

export interface CopySummary {
  tables: CopiedTable[];
  /** Rows this run copied, all tables. */
  copied: number;
  /** The target held an earlier run's progress. */
  resumed: boolean;
  /** Migrations this run applied to the target. */
  migrationsApplied: string[];
  /** Values whose NUL characters were dropped (PostgreSQL cannot store them). */
  nulStripped: number;
}

const DEFAULT_BATCH = 500;
const PROGRESS_EVERY_MS = 2000;

function openEndpoint(url: string, role: 'source' | 'target'): Promise<CopyEndpoint> {
  switch (providerFromUrl(url)) {
    case 'sqlite':
      return Promise.resolve(openSqliteEndpoint(url, role));
    case 'postgresql':
      return openPostgresEndpoint(url);
    case 'mysql':
      return openMysqlEndpoint(url);
  }
}

/** Copies every table of the Keyway schema from `from` to `to`; throws CopyRefusedError before writing. */
export async function copyDatabase(opts: CopyDatabaseOptions): Promise<CopySummary> {
  const log = opts.log ?? (() => {});
  if (databaseIdentity(opts.from) === databaseIdentity(opts.to))
    throw new CopyRefusedError('--from and --to name the same database; nothing to copy');
  let source: CopyEndpoint;
  try {
    source = await openEndpoint(opts.from, 'source');
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('no SQLite database'))
      throw new CopyRefusedError(`${e.message} (check --from). Nothing was written.`);
    throw e;
  }
  const opened: CopyEndpoint[] = [source];
  try {
    log(`copying ${describeDatabase(opts.from)} (${source.provider}) → ${describeDatabase(opts.to)}`);
    await checkSourceSchema(source);
    const models = copyModels();
    let target = await openEndpoint(opts.to, 'target');
    opened.push(target);
    await checkTargetEmpty(target, models);
    const migrated = await applyMigrations(opts.to);
    if (migrated.applied.length > 0) log(`target: applied ${migrated.applied.length} migration(s)`);
    // A fresh connection: the migrations may have created tables after this one read the catalog.
    await target.close();
    opened.pop();
    target = await openEndpoint(opts.to, 'target');
    opened.push(target);

    const shapes = await orderedShapes(target, models);
    const progress = await target.readProgress();
    if (progress) {
      await checkResumable(source, target, shapes, progress);
      log('target holds an earlier copy of this source: going on from where it stopped');
    } else await target.createProgressTable();

    const tables: CopiedTable[] = [];
    for (const shape of shapes) {
      const model = models.find((m) => m.table === shape.table)?.model ?? shape.table;
      const copied = await copyTable(source, target, shape, progress?.get(shape.table), opts, log);
      const [rows, sourceRows] = [await target.count(shape.table), await source.count(shape.table)];
      tables.push({ table: shape.table, model, copied, rows, sourceRows });
      log(`${shape.table}: ${copied} row(s) copied (${rows} in the target, ${sourceRows} in the source)`);
      if (rows !== sourceRows)
        log(`warning: ${shape.table} differs in size (the source was written to during the copy?)`);
    }
    const summary: CopySummary = {
      tables,
      copied: tables.reduce((n, t) => n + t.copied, 0),
      resumed: progress !== null,
      migrationsApplied: migrated.applied,
      nulStripped: target.nulStripped,
    };
    if (summary.nulStripped > 0)
      log(`warning: ${summary.nulStripped} value(s) lost NUL characters (PostgreSQL cannot store them)`);
    return summary;
  } finally {
    for (const e of opened.reverse()) await e.close().catch(() => {});
  }
}

/** The schema's tables with their primary keys, parents before the tables whose foreign keys point at them. */
async function orderedShapes(target: CopyEndpoint, models: readonly CopyModel[]): Promise<TableShape[]> {
  const existing = await target.tables();
  const shapes: TableShape[] = [];
  for (const m of models) {
    if (!existing.has(m.table))
      throw new CopyRefusedError(`the migrated target has no table ${m.table} for model ${m.model}`);
    const shape = { table: m.table, columns: m.columns, primaryKey: await target.primaryKey(m.table) };
    checkShape(shape);
    shapes.push(shape);
  }
  const parents = new Map<string, Set<string>>(shapes.map((s) => [s.table, new Set<string>()]));
  for (const fk of await target.foreignKeys())
    if (fk.table !== fk.references) parents.get(fk.table)?.add(fk.references);
  const ordered: TableShape[] = [];
  const placed = new Set<string>();
  while (ordered.length < shapes.length) {
    const next = shapes.find(
      (s) =>
        !placed.has(s.table) &&
        [...(parents.get(s.table) ?? [])].every((p) => placed.has(p) || !parents.has(p)),
    );
    if (!next)
      throw new CopyRefusedError('the tables\u2019 foreign keys form a cycle; cannot order the copy');
    ordered.push(next);
    placed.add(next.table);
  }
  return ordered;
}

/** Copies one table from its recorded position to its end; returns the rows copied. */
async function copyTable(
  source: CopyEndpoint,
  target: CopyEndpoint,
  shape: TableShape,
  recorded: TableProgress | undefined,
  opts: CopyDatabaseOptions,
  log: (line: string) => void,
): Promise<number> {
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? DEFAULT_BATCH));
  let after: CopyValue[] | null = recorded?.lastKey ? progressKey(shape, recorded.lastKey) : null;
  let total = recorded?.copied ?? 0;
  let copied = 0;
  let batch = 0;
  let done = recorded?.done ?? false;
  let lastLog = Date.now();
  for (;;) {
    const rows = await source.readPage(shape, after, batchSize);
    const last = rows[rows.length - 1];
    if (!last) break;
    after = keyOf(shape, last);
    total += rows.length;
    copied += rows.length;
    done = rows.length < batchSize;
    await target.writeBatch(shape, rows, {
      table: shape.table,
      lastKey: encodeKey(after),
      copied: total,
      done,
    });
    batch++;
    await opts.onBatch?.({ table: shape.table, copied: total, batch });
    if (Date.now() - lastLog >= PROGRESS_EVERY_MS) {
      log(`${shape.table}: ${total} row(s) so far…`);
      lastLog = Date.now();
    }
    if (done) break;
  }
  if (!done || !recorded)
    await target.writeBatch(shape, [], {
      table: shape.table,
      lastKey: after ? encodeKey(after) : null,
      copied: total,
      done: true,
    });
  const key = shape.primaryKey[0];
  const type = shape.columns.find((c) => c.name === key)?.type;
  if (key && shape.primaryKey.length === 1 && (type === 'Int' || type === 'BigInt'))
    await target.fixSequence(shape.table, key);
  return copied;
}
