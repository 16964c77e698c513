/** Writes fixture rows into each dialect the way GPT-Load's drivers store them. */
import Database from 'better-sqlite3';
import mariadb from 'mariadb';
import pg from 'pg';
import { wallClock } from '../values';
import { gptLoadDdl } from './ddl';
import type { Cell, Row } from './groups';

/** Tables in insert order (groups before api_keys: MySQL and PostgreSQL enforce the foreign key). */
export type TableRows = [table: string, rows: Row[]][];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Deterministic sub-millisecond digits, so SQLite text carries Go's nanoseconds like a real database. */
let nanoSeed = 123_456_789;
function subMillisecondNanos(): number {
  nanoSeed = (nanoSeed * 48_271) % 2_147_483_647;
  return nanoSeed % 1_000_000;
}

/**
 * go-sqlite's time text: "2006-01-02 15:04:05.999999999-07:00" in the process's offset, fraction trimmed of
 * trailing zeros and omitted when zero. Whole-second instants (hour buckets) stay whole.
 */
export function goSqliteTime(d: Date, tz: string): string {
  const sign = tz.startsWith('-') ? -1 : 1;
  const offsetMin = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6)));
  const ms = d.getUTCMilliseconds();
  const w = new Date(d.getTime() - ms + offsetMin * 60_000);
  const nanos = ms === 0 ? 0 : ms * 1_000_000 + subMillisecondNanos();
  const frac = nanos ? `.${String(nanos).padStart(9, '0').replace(/0+$/, '')}` : '';
  return `${w.getUTCFullYear()}-${pad(w.getUTCMonth() + 1)}-${pad(w.getUTCDate())} ${pad(w.getUTCHours())}:${pad(w.getUTCMinutes())}:${pad(w.getUTCSeconds())}${frac}${tz}`;
}

/** A naive DATETIME(3) text: the wall-clock time of `d` in `zone`, as the Go MySQL driver writes with `loc`. */
export function mysqlWallTime(d: Date, zone: string): string {
  const w = wallClock(d, zone);
  return `${w.year}-${w.month}-${w.day} ${w.hour}:${w.minute}:${w.second}.${pad(d.getUTCMilliseconds(), 3)}`;
}

function columnsOf(rows: Row[]): string[] {
  return Object.keys(rows[0] ?? {});
}

/** SQLite: booleans as 0/1, times as go-sqlite text, JSON as Go's marshalled text. */
export function writeSqlite(path: string, tables: TableRows, tz: string): void {
  const db = new Database(path);
  try {
    const cell = (v: Cell) =>
      v instanceof Date ? goSqliteTime(v, tz) : typeof v === 'boolean' ? (v ? 1 : 0) : v;
    db.transaction(() => {
      for (const sql of gptLoadDdl('sqlite')) db.exec(sql);
      for (const [table, rows] of tables) {
        const cols = columnsOf(rows);
        if (!cols.length) continue;
        const stmt = db.prepare(
          `INSERT INTO \`${table}\` (${cols.map((c) => `\`${c}\``).join(',')}) VALUES (${cols.map(() => '?').join(',')})`,
        );
        for (const r of rows) stmt.run(...cols.map((c) => cell(r[c] ?? null)));
      }
    })();
  } finally {
    db.close();
  }
}

function mysqlOptions(server: URL) {
  return {
    host: server.hostname,
    port: Number(server.port || 3306),
    user: decodeURIComponent(server.username) || 'root',
    ...(server.password ? { password: decodeURIComponent(server.password) } : {}),
  };
}

/** MySQL/MariaDB: a fresh database `name`; returns the function that drops it. */
export async function writeMysql(
  server: URL,
  name: string,
  tables: TableRows,
  zone: string,
): Promise<() => Promise<void>> {
  const conn = await mariadb.createConnection({ ...mysqlOptions(server), multipleStatements: false });
  const drop = async () => {
    const c = await mariadb.createConnection(mysqlOptions(server));
    try {
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    } finally {
      await c.end();
    }
  };
  try {
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    await conn.query(`USE \`${name}\``);
    for (const sql of gptLoadDdl('mysql')) await conn.query(sql);
    const cell = (v: Cell) =>
      v instanceof Date ? mysqlWallTime(v, zone) : typeof v === 'boolean' ? Number(v) : v;
    // One transaction, like a dump restore: autocommit per row made 50,000 keys take a minute.
    await conn.beginTransaction();
    for (const [table, rows] of tables) {
      const cols = columnsOf(rows);
      if (!cols.length) continue;
      await conn.batch(
        `INSERT INTO \`${table}\` (${cols.map((c) => `\`${c}\``).join(',')}) VALUES (${cols.map(() => '?').join(',')})`,
        rows.map((r) => cols.map((c) => cell(r[c] ?? null))),
      );
    }
    await conn.commit();
  } catch (e) {
    await drop().catch(() => undefined);
    throw e;
  } finally {
    await conn.end();
  }
  return drop;
}

/** PostgreSQL: a fresh database `name`; returns the function that drops it. */
export async function writePostgres(
  server: URL,
  name: string,
  tables: TableRows,
): Promise<() => Promise<void>> {
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: server.href });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const drop = () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin(`CREATE DATABASE "${name}"`);
  const target = new URL(server.href);
  target.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: target.href });
  try {
    await client.connect();
    await client.query('BEGIN');
    for (const sql of gptLoadDdl('postgres')) await client.query(sql);
    for (const [table, rows] of tables) await insertPg(client, table, rows);
    await client.query('COMMIT');
  } catch (e) {
    await client.end().catch(() => undefined);
    await drop().catch(() => undefined);
    throw e;
  }
  await client.end();
  return drop;
}

async function insertPg(client: pg.Client, table: string, rows: Row[]): Promise<void> {
  const cols = columnsOf(rows);
  if (!cols.length) return;
  const chunk = Math.floor(30_000 / cols.length);
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const values = part.map((_, r) => `(${cols.map((__, c) => `$${r * cols.length + c + 1}`).join(',')})`);
    await client.query(
      `INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(',')}) VALUES ${values.join(',')}`,
      part.flatMap((r) => cols.map((c) => r[c] ?? null)),
    );
  }
}
