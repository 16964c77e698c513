import type Database from 'better-sqlite3';
import type { RequestLogRecord } from '@keyway/contracts';

/** Prisma's SQLite encoding of a DateTime: ISO-8601 text with an explicit `+00:00` offset. */
export function sqliteTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

const INSERT_LOG = `INSERT INTO request_logs (id, requestId, time, groupId, groupName, parentGroupId, parentGroupName, keyId,
  keyMasked, proxyKeyMasked, model, statusCode, success, durationMs, ttfbMs, stream, retries, attempts, error,
  clientIp, requestPath, promptTokens, completionTokens, cachedTokens, costUsd, accessKeyId, accessKeyName,
  translatedFrom, requestBody)
  VALUES (@id, @requestId, @time, @groupId, @groupName, @parentGroupId, @parentGroupName, @keyId, @keyMasked,
  @proxyKeyMasked, @model, @statusCode, @success, @durationMs, @ttfbMs, @stream, @retries, @attempts, @error,
  @clientIp, @requestPath, @promptTokens, @completionTokens, @cachedTokens, @costUsd, @accessKeyId,
  @accessKeyName, @translatedFrom, @requestBody) ON CONFLICT (id) DO NOTHING`;

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
      const { changes } = insertLog.run({
        ...r,
        time: sqliteTime(Date.parse(r.time)),
        success: r.success ? 1 : 0,
        stream: r.stream ? 1 : 0,
        durationMs: Math.round(r.durationMs),
        ttfbMs: r.ttfbMs === null ? null : Math.round(r.ttfbMs),
        attempts: JSON.stringify(r.attempts),
      });
      written += changes;
    }
    return written;
  };
}
