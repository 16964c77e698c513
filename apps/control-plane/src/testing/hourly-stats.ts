// Test-only: the usage counters of request records (hourly buckets per group, model and access key, with a
// request made through an aggregate in the aggregate's bucket too; upstream-key and access-key use) as the
// gateway's usage aggregator hands them to the writer, applied through the real writer (`applyUsageBatch`).
import { randomUUID } from 'node:crypto';
import type { RequestLogRecord, UsageBatch, UsageBucket } from '@keyway/contracts';
import type { DbClient } from '@keyway/db';
import { applyUsageBatch } from '@keyway/db';

const HOUR = 3_600_000;

/** The usage batch of `records`, as one gateway would seal it. */
export function usageBatchOf(records: readonly RequestLogRecord[]): UsageBatch {
  const buckets = new Map<string, UsageBucket>();
  const keys = new Map<number, { id: number; count: number; last: string }>();
  const accessKeys = new Map<number, UsageBatch['accessKeys'][number]>();
  for (const r of records) {
    const time = new Date(Math.floor(Date.parse(r.time) / HOUR) * HOUR).toISOString();
    const model = r.model ?? '';
    const accessKeyId = r.accessKeyId ?? 0;
    const tokens = (r.promptTokens ?? 0) + (r.completionTokens ?? 0);
    for (const groupId of r.parentGroupId === null ? [r.groupId] : [r.groupId, r.parentGroupId]) {
      const id = `${time}|${groupId}|${model}|${accessKeyId}`;
      const b = buckets.get(id) ?? {
        time,
        groupId,
        model,
        accessKeyId,
        requests: 0,
        failures: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedTokens: 0,
        costUsd: 0,
      };
      b.requests += 1;
      b.failures += r.success ? 0 : 1;
      b.promptTokens += r.promptTokens ?? 0;
      b.completionTokens += r.completionTokens ?? 0;
      b.cachedTokens += r.cachedTokens ?? 0;
      b.costUsd += r.costUsd ?? 0;
      buckets.set(id, b);
    }
    if (r.success && r.keyId !== null) {
      const k = keys.get(r.keyId) ?? { id: r.keyId, count: 0, last: r.time };
      k.count += 1;
      if (r.time > k.last) k.last = r.time;
      keys.set(r.keyId, k);
    }
    if (accessKeyId !== 0) {
      const a = accessKeys.get(accessKeyId) ?? {
        id: accessKeyId,
        requests: 0,
        tokens: 0,
        costUsd: 0,
        last: r.time,
      };
      a.requests += 1;
      a.tokens += tokens;
      a.costUsd += r.costUsd ?? 0;
      if (r.time > a.last) a.last = r.time;
      accessKeys.set(accessKeyId, a);
    }
  }
  return {
    id: randomUUID(),
    buckets: [...buckets.values()],
    keys: [...keys.values()],
    accessKeys: [...accessKeys.values()],
  };
}

/** Adds the usage of `records` to the counters, as one batch (what the gateway does beside logging them). */
export async function recordUsage(db: DbClient, records: readonly RequestLogRecord[]): Promise<void> {
  await applyUsageBatch(db, usageBatchOf(records));
}

/** Replaces every hourly stat with the usage of `records`. */
export async function seedHourlyStats(db: DbClient, records: readonly RequestLogRecord[]): Promise<void> {
  await db.hourlyStat.deleteMany();
  await recordUsage(db, records);
}
