import type { RequestLogRecord } from '@keyway/contracts';
import type { DbClient } from '../client';

const HOUR = 3_600_000;

interface HourBucket {
  time: Date;
  groupId: number;
  model: string;
  requests: number;
  failures: number;
  promptTokens: number;
  completionTokens: number;
}

/** Adds a record to the hourly buckets: once for its group and, for aggregates, once for the parent. */
function bucketize(records: readonly RequestLogRecord[]): HourBucket[] {
  const buckets = new Map<string, HourBucket>();
  const add = (time: Date, groupId: number, r: RequestLogRecord) => {
    const model = r.model ?? '';
    const id = `${time.getTime()}|${groupId}|${model}`;
    let b = buckets.get(id);
    if (!b) {
      b = { time, groupId, model, requests: 0, failures: 0, promptTokens: 0, completionTokens: 0 };
      buckets.set(id, b);
    }
    b.requests++;
    if (!r.success) b.failures++;
    b.promptTokens += r.promptTokens ?? 0;
    b.completionTokens += r.completionTokens ?? 0;
  };
  for (const r of records) {
    const time = new Date(Math.floor(Date.parse(r.time) / HOUR) * HOUR);
    add(time, r.groupId, r);
    if (r.parentGroupId !== null) add(time, r.parentGroupId, r);
  }
  return [...buckets.values()];
}

/**
 * Writes a batch of request records in one transaction: the log rows, the hourly stats per group and model, and
 * each key's request count and last-used time. One batch, one transaction: SQLite stays free of lock storms.
 */
export async function writeRequestLogs(db: DbClient, records: readonly RequestLogRecord[]): Promise<void> {
  if (records.length === 0) return;
  const perKey = new Map<number, { count: number; last: Date }>();
  for (const r of records) {
    if (r.keyId === null || !r.success) continue;
    const t = new Date(r.time);
    const k = perKey.get(r.keyId);
    if (k) {
      k.count++;
      if (t > k.last) k.last = t;
    } else perKey.set(r.keyId, { count: 1, last: t });
  }
  const buckets = bucketize(records);
  await db.$transaction(async (tx) => {
    await tx.requestLog.createMany({
      data: records.map((r) => ({
        id: r.id,
        requestId: r.requestId,
        time: new Date(r.time),
        groupId: r.groupId,
        groupName: r.groupName,
        parentGroupId: r.parentGroupId,
        parentGroupName: r.parentGroupName,
        keyId: r.keyId,
        keyMasked: r.keyMasked,
        proxyKeyMasked: r.proxyKeyMasked,
        model: r.model,
        statusCode: r.statusCode,
        success: r.success,
        durationMs: Math.round(r.durationMs),
        ttfbMs: r.ttfbMs === null ? null : Math.round(r.ttfbMs),
        stream: r.stream,
        retries: r.retries,
        attempts: r.attempts,
        error: r.error,
        clientIp: r.clientIp,
        requestPath: r.requestPath,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
        requestBody: r.requestBody,
      })),
    });
    for (const b of buckets) {
      await tx.hourlyStat.upsert({
        where: { time_groupId_model: { time: b.time, groupId: b.groupId, model: b.model } },
        create: b,
        update: {
          requests: { increment: b.requests },
          failures: { increment: b.failures },
          promptTokens: { increment: b.promptTokens },
          completionTokens: { increment: b.completionTokens },
        },
      });
    }
    for (const [id, k] of perKey) {
      // updateMany: the key may have been deleted since the request; that is not an error.
      await tx.apiKey.updateMany({
        where: { id },
        data: { requestCount: { increment: k.count }, lastUsedAt: k.last },
      });
    }
  });
}
