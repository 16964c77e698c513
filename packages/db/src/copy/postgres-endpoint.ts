import type * as Pg from 'pg';
import { postgresSearchPathOption } from '../client';
import type { CopyEndpoint, TableProgress, TableShape } from './endpoint';
import { PROGRESS_TABLE, keyAfter, keyEquals, statementChunks } from './endpoint';
import type { CopyRow, CopyValue, NulCounter } from './values';
import { asText, decodeRow, stripJsonNul, stripNul, utcWallTime } from './values';
import { lazyRequire } from '../lazy-require';

// Loaded when a copy reads or writes PostgreSQL (see lazyRequire).
const loadPg = lazyRequire<typeof Pg>(import.meta.url, 'pg');
const quote = (name: string) => loadPg().escapeIdentifier(name);
const placeholder = (i: number) => `$${i + 1}`;

// Values the copy wants as the server sent them: timestamps without a zone would otherwise be read as local
// time, JSON would be parsed (the copy keeps its text), and int8 would arrive as text.
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const JSON_OID = 114;
const JSONB = 3802;
const INT8 = 20;

type TextParser = (value: string) => unknown;

function parserFor(oid: number): TextParser {
  if (oid === TIMESTAMP || oid === TIMESTAMPTZ || oid === JSON_OID || oid === JSONB) return (v) => v;
  if (oid === INT8) return (v) => BigInt(v);
  return loadPg().types.getTypeParser(oid, 'text') as TextParser;
}

const types = { getTypeParser: parserFor as typeof Pg.types.getTypeParser };

/** Opens a PostgreSQL database (the URL's `?schema=` included) for the copy, on one connection. */
export async function openPostgresEndpoint(url: string): Promise<CopyEndpoint> {
  const searchPath = postgresSearchPathOption(url);
  const client = new (loadPg().Client)({
    connectionString: url,
    types,
    ...(searchPath ? { options: searchPath } : {}),
  });
  await client.connect();
  const nul: NulCounter = { stripped: 0 };
  const query = async (sql: string, params: unknown[] = []) =>
    (await client.query<Record<string, unknown>>(sql, params)).rows;
  const arrays = async (sql: string, shape: TableShape, params: unknown[]): Promise<CopyRow[]> =>
    (await client.query<unknown[]>({ text: sql, values: params, rowMode: 'array' })).rows.map((r) =>
      decodeRow(shape.columns, r),
    );
  const encode = (value: CopyValue, json = false): unknown => {
    if (value instanceof Date) return utcWallTime(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string') return json ? stripJsonNul(value, nul) : stripNul(value, nul);
    return value;
  };
  const select = (shape: TableShape) =>
    `SELECT ${shape.columns.map((c) => quote(c.name)).join(', ')} FROM ${quote(shape.table)}`;

  return {
    provider: 'postgresql',
    get nulStripped() {
      return nul.stripped;
    },
    tables: async () =>
      new Set(
        (
          await query(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()
              AND table_type = 'BASE TABLE'`,
          )
        ).map((r) => asText(r.table_name)),
      ),
    appliedMigrations: async () => {
      const has = await query(
        `SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_prisma_migrations'`,
      );
      if (has.length === 0) return null;
      return (
        await query(
          'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
        )
      ).map((r) => asText(r.migration_name));
    },
    primaryKey: async (table) =>
      (
        await query(
          `SELECT k.column_name FROM information_schema.table_constraints c
             JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name
              AND k.table_schema = c.table_schema AND k.table_name = c.table_name
            WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() AND c.table_name = $1
            ORDER BY k.ordinal_position`,
          [table],
        )
      ).map((r) => asText(r.column_name)),
    foreignKeys: async () =>
      (
        await query(
          `SELECT t.relname AS tbl, r.relname AS ref FROM pg_constraint c
             JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
            WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace`,
        )
      ).map((r) => ({ table: asText(r.tbl), references: asText(r.ref) })),
    count: async (table) => Number((await query(`SELECT count(*) AS n FROM ${quote(table)}`))[0]?.n ?? 0),
    readPage: (shape, after, limit) => {
      const where = after ? ` WHERE ${keyAfter(shape, quote, placeholder)}` : '';
      const params = after ? after.map((v) => encode(v)) : [];
      const order = shape.primaryKey.map(quote).join(', ');
      return arrays(`${select(shape)}${where} ORDER BY ${order} LIMIT ${Math.floor(limit)}`, shape, params);
    },
    readRow: async (shape, key) =>
      (
        await arrays(
          `${select(shape)} WHERE ${keyEquals(shape, quote, placeholder)}`,
          shape,
          key.map((v) => encode(v)),
        )
      )[0] ?? null,
    readProgress: async () => {
      const has = await query(
        `SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`,
        [PROGRESS_TABLE],
      );
      if (has.length === 0) return null;
      const map = new Map<string, TableProgress>();
      for (const r of await query(`SELECT table_name, last_key, copied, done FROM ${PROGRESS_TABLE}`))
        map.set(asText(r.table_name), {
          table: asText(r.table_name),
          lastKey: r.last_key === null ? null : asText(r.last_key),
          copied: Number(r.copied),
          done: Boolean(r.done),
        });
      return map;
    },
    createProgressTable: async () => {
      await query(
        `CREATE TABLE IF NOT EXISTS ${PROGRESS_TABLE} (table_name VARCHAR(191) PRIMARY KEY, last_key TEXT,
          copied BIGINT NOT NULL, done BOOLEAN NOT NULL, updated_at TIMESTAMP(3) NOT NULL)`,
      );
    },
    writeBatch: async (shape, batch, progress) => {
      await client.query('BEGIN');
      try {
        const width = shape.columns.length;
        for (const chunk of statementChunks(batch, width)) {
          const values = chunk
            .map((_, r) => `(${shape.columns.map((__, c) => placeholder(r * width + c)).join(', ')})`)
            .join(', ');
          const params = chunk.flatMap((row) =>
            row.map((v, c) => encode(v, shape.columns[c]?.type === 'Json')),
          );
          await client.query(
            `INSERT INTO ${quote(shape.table)} (${shape.columns.map((c) => quote(c.name)).join(', ')}) VALUES ${values}`,
            params,
          );
        }
        await client.query(
          `INSERT INTO ${PROGRESS_TABLE} (table_name, last_key, copied, done, updated_at)
             VALUES ($1, $2, $3, $4, now()) ON CONFLICT (table_name) DO UPDATE SET last_key = EXCLUDED.last_key,
             copied = EXCLUDED.copied, done = EXCLUDED.done, updated_at = EXCLUDED.updated_at`,
          [progress.table, progress.lastKey, progress.copied, progress.done],
        );
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
    fixSequence: async (table, column) => {
      const seq = (await query('SELECT pg_get_serial_sequence($1, $2) AS seq', [quote(table), column]))[0]
        ?.seq;
      if (!seq) return;
      // is_called false: the next nextval() returns exactly max + 1 (1 for an empty table).
      await query(
        `SELECT setval($1, COALESCE((SELECT MAX(${quote(column)}) FROM ${quote(table)}), 0) + 1, false)`,
        [seq],
      );
    },
    close: () => client.end(),
  };
}
