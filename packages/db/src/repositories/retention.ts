import type Database from 'better-sqlite3';
import type { DbClient } from '../client';
import { yieldToLoop } from '../slices';
import type { SqliteWriter } from '../sqlite-writer';
import { readSettings } from './settings';
import { sqliteTime } from './sqlite-log-writer';

const DAY = 86_400_000;

/** Rows deleted per statement: short transactions, so SQLite's single writer lock is never held for long. */
export const PRUNE_BATCH_SIZE = 1000;

/** Tables that expire by their `time` column (each has an index starting with it). */
export type PrunableTable = 'request_logs' | 'hourly_stats' | 'audit_logs' | 'usage_batches';

/**
 * Applied usage-batch ids are kept this long: a batch retried later than that (a queue job stuck for a week)
 * would count twice, and keeping them for ever would grow the table by one row per gateway-second.
 */
export const USAGE_BATCH_RETENTION_DAYS = 7;

/**
 * Prepares a delete of up to `limit` rows of `table` older than `before` on a better-sqlite3 connection, to be
 * called inside a transaction (`createSqliteWriter` owns that, sizing `limit` so one call takes a few ms).
 */
export function prepareDeleteBefore(
  db: Database.Database,
  table: PrunableTable,
): (before: Date, limit: number) => number {
  // `table` is one of four literals, never input. The subquery walks the time index: no sort, no scan.
  const remove = db.prepare(
    `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE time < ? LIMIT ?)`,
  );
  return (before, limit) => remove.run(sqliteTime(before.getTime()), limit).changes;
}

/** Options of {@link pruneLogs}. */
export interface PruneLogsOptions {
  /** Request logs older than this many days are deleted; 0 keeps them forever. */
  retentionDays: number;
  /** Hourly stats older than this many days are deleted; 0 keeps them forever. */
  hourlyRetentionDays?: number;
  now?: Date;
  batchSize?: number;
  /** The process's SQLite writer (standalone): deletes go through it in short transactions, not through Prisma. */
  sqliteWriter?: SqliteWriter;
}

/** What {@link pruneLogs} deleted. */
export interface PruneLogsResult {
  requestLogs: number;
  hourlyStats: number;
  /** Applied usage-batch ids older than {@link USAGE_BATCH_RETENTION_DAYS}. */
  usageBatches: number;
}

/** The cutoff of a retention in days, or null when 0 (or less) means keep everything. */
function cutoff(days: number, now: Date): Date | null {
  return days > 0 ? new Date(now.getTime() - days * DAY) : null;
}

/** Deletes by id chunks until `find` comes back short: one short statement at a time, with a pause between. */
async function deleteInBatches<Id>(
  batchSize: number,
  find: (take: number) => Promise<Id[]>,
  remove: (ids: Id[]) => Promise<number>,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = await find(batchSize);
    if (ids.length === 0) return deleted;
    deleted += await remove(ids);
    if (ids.length < batchSize) return deleted;
    // Let the log writer and API requests in between batches.
    await yieldToLoop();
  }
}

/** Deletes request logs past `retentionDays` and hourly stats past `hourlyRetentionDays` (default 400). */
export async function pruneLogs(db: DbClient, options: PruneLogsOptions): Promise<PruneLogsResult> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? PRUNE_BATCH_SIZE;
  const logsBefore = cutoff(options.retentionDays, now);
  const statsBefore = cutoff(options.hourlyRetentionDays ?? 400, now);
  const batchesBefore = cutoff(USAGE_BATCH_RETENTION_DAYS, now) as Date;
  const writer = options.sqliteWriter;
  if (writer)
    return {
      requestLogs: logsBefore ? await writer.deleteBefore('request_logs', logsBefore) : 0,
      hourlyStats: statsBefore ? await writer.deleteBefore('hourly_stats', statsBefore) : 0,
      usageBatches: await writer.deleteBefore('usage_batches', batchesBefore),
    };
  const requestLogs = logsBefore
    ? await deleteInBatches(
        batchSize,
        async (take) =>
          (
            await db.requestLog.findMany({ where: { time: { lt: logsBefore } }, select: { id: true }, take })
          ).map((r) => r.id),
        async (ids) => (await db.requestLog.deleteMany({ where: { id: { in: ids } } })).count,
      )
    : 0;
  const hourlyStats = statsBefore
    ? await deleteInBatches(
        batchSize,
        async (take) =>
          (
            await db.hourlyStat.findMany({ where: { time: { lt: statsBefore } }, select: { id: true }, take })
          ).map((r) => r.id),
        async (ids) => (await db.hourlyStat.deleteMany({ where: { id: { in: ids } } })).count,
      )
    : 0;
  const usageBatches = await deleteInBatches(
    batchSize,
    async (take) =>
      (
        await db.usageBatchApplied.findMany({
          where: { time: { lt: batchesBefore } },
          select: { id: true },
          take,
        })
      ).map((r) => r.id),
    async (ids) => (await db.usageBatchApplied.deleteMany({ where: { id: { in: ids } } })).count,
  );
  return { requestLogs, hourlyStats, usageBatches };
}

/** Options of {@link pruneAudit}. */
export interface PruneAuditOptions {
  /** Audit entries older than this many days are deleted (default 365); 0 keeps them forever. */
  retentionDays?: number;
  now?: Date;
  batchSize?: number;
  /** As in {@link PruneLogsOptions}. */
  sqliteWriter?: SqliteWriter;
}

/** Deletes audit entries past their retention (a year by default); returns how many. */
export async function pruneAudit(db: DbClient, options: PruneAuditOptions = {}): Promise<number> {
  const before = cutoff(options.retentionDays ?? 365, options.now ?? new Date());
  if (!before) return 0;
  if (options.sqliteWriter) return options.sqliteWriter.deleteBefore('audit_logs', before);
  return deleteInBatches(
    options.batchSize ?? PRUNE_BATCH_SIZE,
    async (take) =>
      (await db.auditLog.findMany({ where: { time: { lt: before } }, select: { id: true }, take })).map(
        (r) => r.id,
      ),
    async (ids) => (await db.auditLog.deleteMany({ where: { id: { in: ids } } })).count,
  );
}

/** Options of {@link runRetention}. */
export interface RetentionOptions {
  now?: Date;
  /** Request-log retention for this run instead of the stored `requestLogRetentionDays` (0 keeps everything). */
  retentionDays?: number;
  /** As in {@link PruneLogsOptions}. */
  sqliteWriter?: SqliteWriter;
}

/** What one retention pass deleted. */
export interface RetentionResult extends PruneLogsResult {
  auditLogs: number;
}

/**
 * One retention pass, what a scheduler calls: request logs past `requestLogRetentionDays` (or the given
 * `retentionDays`), hourly stats past `statsRetentionDays`, audit entries past a year.
 */
export async function runRetention(db: DbClient, options: RetentionOptions = {}): Promise<RetentionResult> {
  const now = options.now ?? new Date();
  const settings = await readSettings(db, ['requestLogRetentionDays', 'statsRetentionDays']);
  const logs = await pruneLogs(db, {
    retentionDays: options.retentionDays ?? settings.requestLogRetentionDays,
    hourlyRetentionDays: settings.statsRetentionDays,
    now,
    ...(options.sqliteWriter ? { sqliteWriter: options.sqliteWriter } : {}),
  });
  const auditLogs = await pruneAudit(db, {
    now,
    ...(options.sqliteWriter ? { sqliteWriter: options.sqliteWriter } : {}),
  });
  return { ...logs, auditLogs };
}
