import type Database from 'better-sqlite3';
import type { RequestLogRecord } from '@keyway/contracts';

/** Prisma's SQLite encoding of a DateTime: ISO-8601 text with an explicit `+00:00` offset. */
export function sqliteTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

/** The columns in the order their values are bound (positional: see {@link prepareLogInsert}). */
const LOG_COLUMNS = [
  'id',
  'requestId',
  'time',
  'groupId',
  'groupName',
  'parentGroupId',
  'parentGroupName',
  'keyId',
  'keyMasked',
  'proxyKeyMasked',
  'model',
  'statusCode',
  'success',
  'durationMs',
  'ttfbMs',
  'stream',
  'retries',
  'attempts',
  'error',
  'clientIp',
  'requestPath',
  'promptTokens',
  'completionTokens',
  'cachedTokens',
  'costUsd',
  'accessKeyId',
  'accessKeyName',
  'translatedFrom',
  'requestBody',
] as const satisfies readonly (keyof RequestLogRecord)[];

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
 * Prepares the request-log insert on a better-sqlite3 connection; the function returned writes records (skipping
 * those whose id is stored already, so a retried batch is safe) and returns how many it stored, to be called
 * inside a transaction (`createSqliteWriter` owns that). Going through Prisma cost more CPU than proxying the
 * requests being logged (its query compiler runs per query); rows written here are byte-compatible with Prisma's
 * (same time encoding), which a test checks. Counters come from usage batches (repositories/usage.ts).
 */
export function prepareLogInsert(db: Database.Database): (records: readonly RequestLogRecord[]) => number {
  const insertLog = db.prepare(INSERT_LOG);
  return (records) => {
    let written = 0;
    for (const r of records) {
      // Positional, in LOG_COLUMNS order: binding 29 named parameters looked each one up on an object (and the
      // object was a spread copy of the record), the larger part of this thread's own time per row.
      const { changes } = insertLog.run(
        r.id,
        r.requestId,
        recordTime(r.time),
        r.groupId,
        r.groupName,
        r.parentGroupId,
        r.parentGroupName,
        r.keyId,
        r.keyMasked,
        r.proxyKeyMasked,
        r.model,
        r.statusCode,
        r.success ? 1 : 0,
        Math.round(r.durationMs),
        r.ttfbMs === null ? null : Math.round(r.ttfbMs),
        r.stream ? 1 : 0,
        r.retries,
        JSON.stringify(r.attempts),
        r.error,
        r.clientIp,
        r.requestPath,
        r.promptTokens,
        r.completionTokens,
        r.cachedTokens,
        r.costUsd,
        r.accessKeyId,
        r.accessKeyName,
        r.translatedFrom,
        r.requestBody,
      );
      written += changes;
    }
    return written;
  };
}
