import type * as Mariadb from 'mariadb';
import { mariadbUrl } from '../provider';
import type { CopyEndpoint, TableProgress, TableShape } from './endpoint';
import { PROGRESS_TABLE, keyAfter, keyEquals, statementChunks } from './endpoint';
import type { CopyRow, CopyValue } from './values';
import { asText, decodeRow, utcWallTime } from './values';
import { lazyRequire } from '../lazy-require';

// Loaded when a copy reads or writes MySQL (see lazyRequire).
const loadMariadb = lazyRequire<typeof Mariadb>(import.meta.url, 'mariadb');

const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;
const placeholder = () => '?';

/** MySQL stores Prisma's DateTime as DATETIME(3) in UTC wall time, booleans as TINYINT(1). */
function encode(value: CopyValue): unknown {
  if (value instanceof Date) return utcWallTime(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** Opens a MySQL or MariaDB database for the copy, on one connection. */
export async function openMysqlEndpoint(url: string): Promise<CopyEndpoint> {
  // Timestamps as text (no driver time-zone conversion), JSON as text, big integers exact.
  const conn = await loadMariadb().createConnection(
    mariadbUrl(url, { dateStrings: 'true', autoJsonMap: 'false', bigIntAsNumber: 'false' }),
  );
  const query = (sql: string, params: unknown[] = []) => conn.query<Record<string, unknown>[]>(sql, params);
  const arrays = async (sql: string, shape: TableShape, params: unknown[]): Promise<CopyRow[]> =>
    (await conn.query<unknown[][]>({ sql, rowsAsArray: true }, params)).map((r) =>
      decodeRow(shape.columns, r),
    );
  const select = (shape: TableShape) =>
    `SELECT ${shape.columns.map((c) => quote(c.name)).join(', ')} FROM ${quote(shape.table)}`;
  const hasTable = async (name: string) =>
    (
      await query(
        'SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
        [name],
      )
    ).length > 0;

  return {
    provider: 'mysql',
    nulStripped: 0,
    tables: async () =>
      new Set(
        (
          await query(
            `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()
              AND table_type = 'BASE TABLE'`,
          )
        ).map((r) => asText(r.name)),
      ),
    appliedMigrations: async () => {
      if (!(await hasTable('_prisma_migrations'))) return null;
      return (
        await query(
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
        )
      ).map((r) => asText(r.migration_name));
    },
    primaryKey: async (table) =>
      (
        await query(
          `SELECT column_name AS name FROM information_schema.key_column_usage
            WHERE table_schema = DATABASE() AND table_name = ? AND constraint_name = 'PRIMARY'
            ORDER BY ordinal_position`,
          [table],
        )
      ).map((r) => asText(r.name)),
    foreignKeys: async () =>
      (
        await query(
          `SELECT table_name AS tbl, referenced_table_name AS ref FROM information_schema.key_column_usage
            WHERE table_schema = DATABASE() AND referenced_table_name IS NOT NULL`,
        )
      ).map((r) => ({ table: asText(r.tbl), references: asText(r.ref) })),
    count: async (table) => Number((await query(`SELECT count(*) AS n FROM ${quote(table)}`))[0]?.n ?? 0),
    readPage: (shape, after, limit) => {
      const where = after ? ` WHERE ${keyAfter(shape, quote, placeholder)}` : '';
      const params = after ? after.map(encode) : [];
      const order = shape.primaryKey.map(quote).join(', ');
      return arrays(`${select(shape)}${where} ORDER BY ${order} LIMIT ${Math.floor(limit)}`, shape, params);
    },
    readRow: async (shape, key) =>
      (
        await arrays(`${select(shape)} WHERE ${keyEquals(shape, quote, placeholder)}`, shape, key.map(encode))
      )[0] ?? null,
    readProgress: async () => {
      if (!(await hasTable(PROGRESS_TABLE))) return null;
      const map = new Map<string, TableProgress>();
      for (const r of await query(`SELECT table_name, last_key, copied, done FROM ${PROGRESS_TABLE}`))
        map.set(asText(r.table_name), {
          table: asText(r.table_name),
          lastKey: r.last_key === null ? null : asText(r.last_key),
          copied: Number(r.copied),
          done: Number(r.done) === 1,
        });
      return map;
    },
    createProgressTable: async () => {
      await query(
        `CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (table_name VARCHAR(191) NOT NULL PRIMARY KEY,
          last_key TEXT NULL, copied BIGINT NOT NULL, done BOOLEAN NOT NULL, updated_at DATETIME(3) NOT NULL)
          ENGINE=InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
      );
    },
    writeBatch: async (shape, batch, progress) => {
      await conn.beginTransaction();
      try {
        const row = `(${shape.columns.map(() => '?').join(', ')})`;
        for (const chunk of statementChunks(batch, shape.columns.length))
          await conn.query(
            `INSERT INTO ${quote(shape.table)} (${shape.columns.map((c) => quote(c.name)).join(', ')}) VALUES ${chunk.map(() => row).join(', ')}`,
            chunk.flatMap((r) => r.map(encode)),
          );
        await conn.query(
          `INSERT INTO ${PROGRESS_TABLE} (table_name, last_key, copied, done, updated_at)
             VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE last_key = VALUES(last_key),
             copied = VALUES(copied), done = VALUES(done), updated_at = VALUES(updated_at)`,
          [progress.table, progress.lastKey, progress.copied, progress.done ? 1 : 0],
        );
        await conn.commit();
      } catch (error) {
        await conn.rollback().catch(() => {});
        throw error;
      }
    },
    fixSequence: async (table, column) => {
      const [col] = await query(
        `SELECT extra FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?
          AND column_name = ?`,
        [table, column],
      );
      if (
        !asText(col?.extra ?? '')
          .toLowerCase()
          .includes('auto_increment')
      )
        return;
      const [max] = await query(`SELECT COALESCE(MAX(${quote(column)}), 0) + 1 AS next FROM ${quote(table)}`);
      // Literal only (DDL takes no placeholders); the value is an integer the server just returned.
      await query(`ALTER TABLE ${quote(table)} AUTO_INCREMENT = ${BigInt(max?.next as bigint | number)}`);
    },
    close: () => conn.end(),
  };
}
