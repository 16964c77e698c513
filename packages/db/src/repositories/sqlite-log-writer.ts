import type Database from 'better-sqlite3';
import type { RequestLogRecord } from '@keyway/contracts';
import { openSqliteFile } from '../sqlite-file';
import { aggregateBatch } from './log-batch';

/** Prisma's SQLite encoding of a DateTime: ISO-8601 text with an explicit `+00:00` offset. */
export function sqliteTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

const INSERT_LOG = `INSERT INTO request_logs (id, requestId, time, groupId, groupName, parentGroupId, parentGroupName, keyId,
  keyMasked, proxyKeyMasked, model, statusCode, success, durationMs, ttfbMs, stream, retries, attempts, error,
  clientIp, requestPath, promptTokens, completionTokens, requestBody)
  VALUES (@id, @requestId, @time, @groupId, @groupName, @parentGroupId, @parentGroupName, @keyId, @keyMasked,
  @proxyKeyMasked, @model, @statusCode, @success, @durationMs, @ttfbMs, @stream, @retries, @attempts, @error,
  @clientIp, @requestPath, @promptTokens, @completionTokens, @requestBody)`;

const UPSERT_HOUR = `INSERT INTO hourly_stats (time, groupId, model, requests, failures, promptTokens, completionTokens)
  VALUES (@time, @groupId, @model, @requests, @failures, @promptTokens, @completionTokens)
  ON CONFLICT (time, groupId, model) DO UPDATE SET requests = requests + excluded.requests,
  failures = failures + excluded.failures, promptTokens = promptTokens + excluded.promptTokens,
  completionTokens = completionTokens + excluded.completionTokens`;

const COUNT_KEY = `UPDATE api_keys SET requestCount = requestCount + @count,
  lastUsedAt = CASE WHEN lastUsedAt IS NULL OR lastUsedAt < @last THEN @last ELSE lastUsedAt END, updatedAt = @now
  WHERE id = @id`;

/** A batch writer of request logs and the counters derived from them. */
export interface LogWriter {
  write(records: readonly RequestLogRecord[]): Promise<void>;
  close(): void;
}

/**
 * The standalone fast path: one prepared-statement transaction per batch on its own better-sqlite3 connection.
 * Going through Prisma cost more CPU than proxying the requests being logged (its query compiler runs per
 * query); rows written here are byte-compatible with Prisma's (same time encoding), which a test checks.
 */
export function createSqliteLogWriter(url: string): LogWriter {
  const db: Database.Database = openSqliteFile(url);
  const insertLog = db.prepare(INSERT_LOG);
  const upsertHour = db.prepare(UPSERT_HOUR);
  const countKey = db.prepare(COUNT_KEY);
  const writeBatch = db.transaction((records: readonly RequestLogRecord[]) => {
    const { buckets, perKey } = aggregateBatch(records);
    for (const r of records) {
      insertLog.run({
        ...r,
        time: sqliteTime(Date.parse(r.time)),
        success: r.success ? 1 : 0,
        stream: r.stream ? 1 : 0,
        durationMs: Math.round(r.durationMs),
        ttfbMs: r.ttfbMs === null ? null : Math.round(r.ttfbMs),
        attempts: JSON.stringify(r.attempts),
      });
    }
    for (const b of buckets) upsertHour.run({ ...b, time: sqliteTime(b.time.getTime()) });
    const now = sqliteTime(Date.now());
    for (const [id, k] of perKey)
      countKey.run({ id, count: k.count, last: sqliteTime(k.last.getTime()), now });
  });
  return {
    write(records) {
      if (records.length > 0) writeBatch(records);
      return Promise.resolve();
    },
    close: () => db.close(),
  };
}
