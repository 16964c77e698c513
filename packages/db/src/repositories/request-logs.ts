import type { RequestLogRecord } from '@keyway/contracts';
import type { DbClient } from '../client';
import { aggregateBatch } from './log-batch';

/**
 * Writes a batch of request records in one transaction: the log rows, the hourly stats per group and model, and
 * each key's request count and last-used time. One batch, one transaction: SQLite stays free of lock storms.
 */
export async function writeRequestLogs(db: DbClient, records: readonly RequestLogRecord[]): Promise<void> {
  if (records.length === 0) return;
  const { buckets, perKey } = aggregateBatch(records);
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
        error: r.error === null ? null : r.error.replaceAll('\u0000', ''),
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
      await tx.apiKey.updateMany({ where: { id }, data: { requestCount: { increment: k.count } } });
      // Batches can land out of order: the last use only moves forward.
      await tx.apiKey.updateMany({
        where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: k.last } }] },
        data: { lastUsedAt: k.last },
      });
    }
  });
}
