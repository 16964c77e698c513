/** PostgreSQL source: timestamptz and JSONB arrive as Date and objects; int8 arrives as text. */
import { lazyRequire } from '@keyway/db';
import type * as Pg from 'pg';
import type { PostgresDsn } from '../dsn';
import { GptLoadReadError } from '../types';
import { parseGptLoadTime, type RawRow } from '../values';
import type { OpenSource, SourceConnection } from './connection';

// Loaded when a GPT-Load database on PostgreSQL is read (see lazyRequire).
const loadPg = lazyRequire<typeof Pg>(import.meta.url, 'pg');

/** `?` placeholders → `$1…` (the reader's SQL never has `?` inside literals). */
function numbered(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

/** Opener for a PostgreSQL database; transactions of the session are read-only. */
export function postgresSource(dsn: PostgresDsn): OpenSource {
  return async () => {
    const client = new (loadPg().Client)({
      connectionString: dsn.connectionString,
      connectionTimeoutMillis: 10_000,
    });
    try {
      await client.connect();
      await client.query('SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY');
    } catch (cause) {
      await client.end().catch(() => undefined);
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new GptLoadReadError('source_unavailable', `Cannot connect to ${dsn.label}: ${why}`, { cause });
    }
    const source: SourceConnection = {
      kind: 'postgres',
      tables: async () => {
        const r = await client.query<{ name: string }>(
          'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
        );
        return new Set(r.rows.map((row) => row.name));
      },
      all: async (sql, params = []) => (await client.query<RawRow>(numbered(sql), [...params])).rows,
      quote: (name) => `"${name}"`,
      toDate: (v) => parseGptLoadTime(v),
      close: () => client.end(),
    };
    return source;
  };
}
