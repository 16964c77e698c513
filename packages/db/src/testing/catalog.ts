// Test-only: a provider-neutral picture of a migrated database (tables, columns, indexes, foreign keys), read
// from PostgreSQL's and MySQL/MariaDB's catalogs, so the hand-written MySQL migrations can be compared with the
// engine-generated PostgreSQL ones. Types are reduced to rough families (string, int, bool, datetime, json):
// lengths and exact types legitimately differ, a missing or renamed column, index or key does not.
import * as mariadb from 'mariadb';
import pg from 'pg';
import { mariadbUrl } from '../provider';

export interface Column {
  type: string;
  nullable: boolean;
  /** 'autoincrement', 'now', a literal, or null for none */
  default: string | null;
}

export interface Index {
  columns: string[];
  unique: boolean;
}

export interface ForeignKey {
  table: string;
  columns: string[];
  references: string;
  onDelete: string;
  onUpdate: string;
}

export interface Catalog {
  tables: Record<string, { columns: Record<string, Column>; indexes: Record<string, Index> }>;
  foreignKeys: Record<string, ForeignKey>;
}

function typeFamily(type: string): string {
  const t = type.toLowerCase();
  if (/char|text/.test(t)) return 'string';
  if (t === 'tinyint(1)' || t === 'boolean') return 'bool';
  if (/int/.test(t)) return 'int';
  if (/timestamp|datetime/.test(t)) return 'datetime';
  if (/json/.test(t)) return 'json';
  if (/^double/.test(t)) return 'double';
  return t;
}

function normalizeDefault(raw: string | null, autoIncrement: boolean): string | null {
  if (autoIncrement || raw?.startsWith('nextval(')) return 'autoincrement';
  if (raw === null || raw.toUpperCase() === 'NULL') return null;
  if (/current_timestamp|now\(\)/i.test(raw)) return 'now';
  const literal = raw.replace(/::[a-z ]+$/i, '').replace(/^'(.*)'$/, '$1');
  return ({ false: '0', true: '1' } as Record<string, string>)[literal] ?? literal;
}

function emptyCatalog(tables: string[]): Catalog {
  return {
    tables: Object.fromEntries(tables.map((t) => [t, { columns: {}, indexes: {} }])),
    foreignKeys: {},
  };
}

function table(catalog: Catalog, name: string) {
  const t = catalog.tables[name];
  if (!t) throw new Error(`catalog lists ${name} but not as a table`);
  return t;
}

export async function postgresCatalog(url: string): Promise<Catalog> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const q = async <T extends pg.QueryResultRow>(sql: string) => (await client.query<T>(sql)).rows;
    const tables = await q<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
    );
    const catalog = emptyCatalog(tables.map((t) => t.name));
    const columns = await q<{
      table_name: string;
      column_name: string;
      data_type: string;
      is_nullable: string;
      column_default: string | null;
    }>(
      `SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
        WHERE table_schema = current_schema()`,
    );
    for (const c of columns) {
      table(catalog, c.table_name).columns[c.column_name] = {
        type: typeFamily(c.data_type),
        nullable: c.is_nullable === 'YES',
        default: normalizeDefault(c.column_default, false),
      };
    }
    // information_schema has no indexes in PostgreSQL; pg_index has them, primary keys included.
    const indexes = await q<{
      table_name: string;
      index_name: string;
      unique: boolean;
      primary: boolean;
      columns: string[];
    }>(
      `SELECT t.relname AS table_name, i.relname AS index_name, ix.indisunique AS unique, ix.indisprimary AS primary,
              array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index ix
         JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE n.nspname = current_schema()
        GROUP BY t.relname, i.relname, ix.indisunique, ix.indisprimary`,
    );
    for (const ix of indexes) {
      table(catalog, ix.table_name).indexes[ix.primary ? 'PRIMARY' : ix.index_name] = {
        columns: ix.columns,
        unique: ix.unique,
      };
    }
    const fks = await q<{
      name: string;
      table_name: string;
      columns: string[];
      references: string;
      on_delete: string;
      on_update: string;
    }>(
      `SELECT rc.constraint_name AS name, kcu.table_name,
              array_agg(kcu.column_name::text ORDER BY kcu.ordinal_position) AS columns,
              min(ccu.table_name) AS references, rc.delete_rule AS on_delete, rc.update_rule AS on_update
         FROM information_schema.referential_constraints rc
         JOIN information_schema.key_column_usage kcu
           ON kcu.constraint_schema = rc.constraint_schema AND kcu.constraint_name = rc.constraint_name
         JOIN information_schema.constraint_column_usage ccu
           ON ccu.constraint_schema = rc.constraint_schema AND ccu.constraint_name = rc.constraint_name
        WHERE rc.constraint_schema = current_schema()
        GROUP BY rc.constraint_name, kcu.table_name, rc.delete_rule, rc.update_rule`,
    );
    for (const fk of fks) {
      catalog.foreignKeys[fk.name] = {
        table: fk.table_name,
        columns: fk.columns,
        references: fk.references,
        onDelete: fk.on_delete,
        onUpdate: fk.on_update,
      };
    }
    return catalog;
  } finally {
    await client.end();
  }
}

export async function mysqlCatalog(url: string): Promise<Catalog> {
  const conn = await mariadb.createConnection(mariadbUrl(url));
  try {
    const q = <T>(sql: string) => conn.query<T[]>(sql);
    const tables = await q<{ name: string }>(
      `SELECT TABLE_NAME AS name FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'`,
    );
    const catalog = emptyCatalog(tables.map((t) => t.name));
    // MariaDB implements JSON as LONGTEXT plus a json_valid() check; MySQL reports JSON itself.
    const jsonChecks = await q<{ table_name: string; clause: string }>(
      `SELECT TABLE_NAME AS table_name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
        WHERE CONSTRAINT_SCHEMA = DATABASE()`,
    ).catch(() => []);
    const isJson = (t: string, c: string) =>
      jsonChecks.some((k) => k.table_name === t && k.clause.replace(/`/g, '').includes(`json_valid(${c})`));
    const columns = await q<{
      table_name: string;
      column_name: string;
      column_type: string;
      is_nullable: string;
      column_default: string | null;
      extra: string;
    }>(
      `SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, COLUMN_TYPE AS column_type,
              IS_NULLABLE AS is_nullable, COLUMN_DEFAULT AS column_default, EXTRA AS extra
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()`,
    );
    for (const c of columns) {
      table(catalog, c.table_name).columns[c.column_name] = {
        type: isJson(c.table_name, c.column_name) ? 'json' : typeFamily(c.column_type),
        nullable: c.is_nullable === 'YES',
        default: normalizeDefault(c.column_default, c.extra.toLowerCase().includes('auto_increment')),
      };
    }
    const indexColumns = await q<{
      table_name: string;
      index_name: string;
      non_unique: number | bigint;
      column_name: string;
    }>(
      `SELECT TABLE_NAME AS table_name, INDEX_NAME AS index_name, NON_UNIQUE AS non_unique, COLUMN_NAME AS column_name
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
        ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    );
    for (const ic of indexColumns) {
      const indexes = table(catalog, ic.table_name).indexes;
      const ix = (indexes[ic.index_name] ??= { columns: [], unique: Number(ic.non_unique) === 0 });
      ix.columns.push(ic.column_name);
    }
    const fkColumns = await q<{
      name: string;
      table_name: string;
      column_name: string;
      references: string;
      on_delete: string;
      on_update: string;
    }>(
      `SELECT rc.CONSTRAINT_NAME AS name, kcu.TABLE_NAME AS table_name, kcu.COLUMN_NAME AS column_name,
              rc.REFERENCED_TABLE_NAME AS \`references\`, rc.DELETE_RULE AS on_delete, rc.UPDATE_RULE AS on_update
         FROM information_schema.REFERENTIAL_CONSTRAINTS rc
         JOIN information_schema.KEY_COLUMN_USAGE kcu
           ON kcu.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND kcu.CONSTRAINT_NAME = rc.CONSTRAINT_NAME
          AND kcu.TABLE_NAME = rc.TABLE_NAME
        WHERE rc.CONSTRAINT_SCHEMA = DATABASE()
        ORDER BY rc.CONSTRAINT_NAME, kcu.ORDINAL_POSITION`,
    );
    for (const fk of fkColumns) {
      const entry = (catalog.foreignKeys[fk.name] ??= {
        table: fk.table_name,
        columns: [],
        references: fk.references,
        onDelete: fk.on_delete,
        onUpdate: fk.on_update,
      });
      entry.columns.push(fk.column_name);
    }
    return catalog;
  } finally {
    await conn.end();
  }
}
