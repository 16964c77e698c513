import type Database from 'better-sqlite3';
import type { LogRow, RequestLogRecord } from '@keyway/contracts';
import { LOG_COLUMNS, attemptsFromRow, maskFromRow } from '@keyway/contracts';

/** Prisma's SQLite encoding of a DateTime: ISO-8601 text with an explicit `+00:00` offset. */
export function sqliteTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

const INSERT_LOG = `INSERT INTO request_logs (${LOG_COLUMNS.join(', ')})
  VALUES (${LOG_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (id) DO NOTHING`;

/** `Date#toISOString()`'s shape: such a string needs no Date round trip to be re-encoded. */
const CANONICAL_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A record's `time` (ISO-8601) in Prisma's SQLite encoding. */
function recordTime(iso: string): string {
  return CANONICAL_ISO.test(iso) ? `${iso.slice(0, 23)}+00:00` : sqliteTime(Date.parse(iso));
}

/** A batch writer of request logs. */
export interface LogWriter {
  write(records: readonly RequestLogRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Prepares the request-log insert on a better-sqlite3 connection; the function returned writes rows (skipping
 * those whose id is stored already, so a retried batch is safe) and returns how many it stored, to be called
 * inside a transaction (`createSqliteWriter` owns that). Going through Prisma cost more CPU than proxying the
 * requests being logged (its query compiler runs per query); rows written here are byte-compatible with Prisma's
 * (same time encoding), which a test checks. Counters come from usage batches (repositories/usage.ts).
 */
export function prepareLogInsert(db: Database.Database): (rows: readonly LogRow[]) => number {
  const insertLog = db.prepare(INSERT_LOG);
  return (rows) => {
    let written = 0;
    for (const r of rows) {
      // Positional, in LOG_COLUMNS order: binding 29 named parameters looked each one up on an object, the larger
      // part of this thread's own time per row.
      const { changes } = insertLog.run(
        r[0],
        r[1],
        recordTime(r[2]),
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        // Masks travel with U+0001 for their ellipsis (ROW_ELLIPSIS in @keyway/contracts); stored as they were made.
        maskFromRow(r[8]),
        maskFromRow(r[9]),
        r[10],
        r[11],
        r[12] ? 1 : 0,
        Math.round(r[13]),
        r[14] === null ? null : Math.round(r[14]),
        r[15] ? 1 : 0,
        r[16],
        JSON.stringify(attemptsFromRow(r[17])),
        r[18],
        r[19],
        r[20],
        r[21],
        r[22],
        r[23],
        r[24],
        r[25],
        r[26],
        r[27],
        r[28],
      );
      written += changes;
    }
    return written;
  };
}
