/**
 * MySQL/MariaDB source. GPT-Load's DATETIME(3) columns carry no zone: the Go driver wrote them in the DSN's
 * `loc` (default UTC), so they are fetched as text and read in that zone.
 */
import { lazyRequire } from '@keyway/db';
import type * as Mariadb from 'mariadb';
import type { MysqlDsn } from '../dsn';
import { GptLoadReadError } from '../types';
import { parseGptLoadTime, type RawRow } from '../values';
import type { OpenSource, SourceConnection } from './connection';

// Loaded when a GPT-Load database on MySQL is read (see lazyRequire).
const loadMariadb = lazyRequire<typeof Mariadb>(import.meta.url, 'mariadb');

/** The IANA zone MySQL datetimes are read in: the option, else the DSN's `loc` (`Local` = this process's zone). */
export function mysqlTimeZone(dsn: MysqlDsn, override?: string): string {
  const loc = override ?? dsn.loc ?? 'UTC';
  const zone = loc === 'Local' ? Intl.DateTimeFormat().resolvedOptions().timeZone : loc;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch (cause) {
    throw new GptLoadReadError('source_unavailable', `Unknown time zone "${zone}" for MySQL datetimes`, {
      cause,
    });
  }
  return zone;
}

/** Opener for a MySQL/MariaDB database; the session is read-only. */
export function mysqlSource(dsn: MysqlDsn, timeZone?: string): OpenSource {
  const zone = mysqlTimeZone(dsn, timeZone);
  return async () => {
    let conn: Mariadb.Connection;
    try {
      conn = await loadMariadb().createConnection({
        host: dsn.host,
        port: dsn.port,
        ...(dsn.socketPath ? { socketPath: dsn.socketPath } : {}),
        user: dsn.user,
        ...(dsn.password === undefined ? {} : { password: dsn.password }),
        database: dsn.database,
        dateStrings: true,
        bigIntAsNumber: true,
        checkDuplicate: false,
        connectTimeout: 10_000,
        ...(dsn.ssl ? { ssl: true } : {}),
      });
      await conn.query('SET SESSION TRANSACTION READ ONLY');
    } catch (cause) {
      throw new GptLoadReadError('source_unavailable', `Cannot connect to ${dsn.label}: ${message(cause)}`, {
        cause,
      });
    }
    const c = conn;
    const source: SourceConnection = {
      kind: 'mysql',
      tables: async () => {
        const rows = await c.query<{ name: string }[]>(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()',
        );
        return new Set(rows.map((r) => r.name));
      },
      all: (sql, params = []) => c.query<RawRow[]>(sql, [...params]),
      quote: (name) => `\`${name}\``,
      toDate: (v) => parseGptLoadTime(v, zone),
      close: () => c.end(),
    };
    return source;
  };
}

/** The driver's message without the DSN (mariadb messages name host and user, never the password). */
function message(e: unknown): string {
  return e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
}
