import type Database from 'better-sqlite3';
import type { RequestLogRecord } from '@keyway/contracts';
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
  @clientIp, @requestPath, @promptTokens, @completionTokens, @requestBody) ON CONFLICT (id) DO NOTHING`;

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
  close(): Promise<void>;
}

/**
 * Prepares the request-log statements on a better-sqlite3 connection; the function returned writes records with
 * their hourly stats and key counters, to be called inside a transaction (`createSqliteWriter` owns that). Going
 * through Prisma cost more CPU than proxying the requests being logged (its query compiler runs per query);
 * rows written here are byte-compatible with Prisma's (same time encoding), which a test checks. A record whose
 * id is stored already is skipped, counters included: a batch retried after a partial write counts once.
 */
export function prepareLogInsert(db: Database.Database): (records: readonly RequestLogRecord[]) => number {
  const insertLog = db.prepare(INSERT_LOG);
  const upsertHour = db.prepare(UPSERT_HOUR);
  const countKey = db.prepare(COUNT_KEY);
  return (records) => {
    const written: RequestLogRecord[] = [];
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
      if (changes > 0) written.push(r);
    }
    const { buckets, perKey } = aggregateBatch(written);
    for (const b of buckets) upsertHour.run({ ...b, time: sqliteTime(b.time.getTime()) });
    const now = sqliteTime(Date.now());
    for (const [id, k] of perKey)
      countKey.run({ id, count: k.count, last: sqliteTime(k.last.getTime()), now });
    return written.length;
  };
}
