import type { LogQuery } from '@keyway/contracts';
import type { DbClient } from '../client';
import type { Prisma, RequestLog } from '../generated/sqlite/client';

/** The filters of `GET /api/logs` (everything but pagination). */
export type LogFilter = Omit<LogQuery, 'page' | 'pageSize'>;

/** The `where` of the log filters: the list and the CSV export share it, so an export matches the list. */
function logWhere(q: LogFilter): Prisma.RequestLogWhereInput {
  const search = q.search?.trim();
  return {
    ...(q.groupId ? { OR: [{ groupId: q.groupId }, { parentGroupId: q.groupId }] } : {}),
    ...(q.result ? { success: q.result === 'success' } : {}),
    ...(q.statusCode === undefined ? {} : { statusCode: q.statusCode }),
    ...(q.model ? { model: q.model } : {}),
    ...(q.keyId ? { keyId: q.keyId } : {}),
    ...(q.accessKeyId ? { accessKeyId: q.accessKeyId } : {}),
    ...(q.from || q.to
      ? { time: { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lte: new Date(q.to) } : {}) } }
      : {}),
    ...(search
      ? {
          AND: [
            { OR: [{ requestId: search }, { error: { contains: search } }, { model: { contains: search } }] },
          ],
        }
      : {}),
  };
}

/** One page of the request logs matching `filter`, newest first, and how many match in all. */
export async function listRequestLogs(
  db: DbClient,
  filter: LogFilter,
  page: { skip: number; take: number },
): Promise<{ rows: RequestLog[]; total: number }> {
  const where = logWhere(filter);
  const [rows, total] = await Promise.all([
    db.requestLog.findMany({ where, orderBy: { time: 'desc' }, skip: page.skip, take: page.take }),
    db.requestLog.count({ where }),
  ]);
  return { rows, total };
}

const exportSelect = {
  id: true,
  time: true,
  requestId: true,
  groupName: true,
  parentGroupName: true,
  model: true,
  statusCode: true,
  success: true,
  durationMs: true,
  ttfbMs: true,
  stream: true,
  retries: true,
  keyMasked: true,
  proxyKeyMasked: true,
  clientIp: true,
  promptTokens: true,
  completionTokens: true,
  cachedTokens: true,
  costUsd: true,
  accessKeyId: true,
  accessKeyName: true,
  translatedFrom: true,
  error: true,
} as const;

/** A request log as the CSV export reads it (no attempts, path or body). */
export type ExportedLogRow = Prisma.RequestLogGetPayload<{ select: typeof exportSelect }>;

/** Where an export page ends: the next page starts after this row. */
export interface LogCursor {
  time: Date;
  id: string;
}

/**
 * Up to `take` request logs matching `filter` after `after` (from the newest when null), newest first. Keyset
 * paging on (time, id): stable while new logs arrive and cheap however deep the export goes, unlike OFFSET; it
 * also survives retention deleting the previous page's last row.
 */
export async function requestLogPageAfter(
  db: DbClient,
  filter: LogFilter,
  after: LogCursor | null,
  take: number,
): Promise<ExportedLogRow[]> {
  const where = logWhere(filter);
  return db.requestLog.findMany({
    where: after
      ? { AND: [where, { OR: [{ time: { lt: after.time } }, { time: after.time, id: { lt: after.id } }] }] }
      : where,
    orderBy: [{ time: 'desc' }, { id: 'desc' }],
    take,
    select: exportSelect,
  });
}

/** How many requests were logged in [from, to). */
export async function countRequestLogs(db: DbClient, from: Date, to: Date): Promise<number> {
  return db.requestLog.count({ where: { time: { gte: from, lt: to } } });
}

/** Failed requests with this status code since `since`, counted per group name. */
export async function failuresByGroupName(
  db: DbClient,
  statusCode: number,
  since: Date,
): Promise<Array<{ groupName: string; count: number }>> {
  const rows = await db.requestLog.groupBy({
    by: ['groupName'],
    where: { success: false, time: { gte: since }, statusCode },
    _count: { _all: true },
  });
  return rows.map((r) => ({ groupName: r.groupName, count: r._count._all }));
}
