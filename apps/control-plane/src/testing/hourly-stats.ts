// Test-only: the usage counters of request records, summed the way a gateway seals them (`UsageAccumulator`)
// and applied through the real writer (`applyUsageBatch`): the counters come from usage batches, not log rows.
import { randomUUID } from 'node:crypto';
import type { RequestLogRecord, UsageBatch } from '@keyway/contracts';
import { UsageAccumulator } from '@keyway/core';
import type { DbClient } from '@keyway/db';
import { applyUsageBatch } from '@keyway/db';

/** The usage batch of `records`, as one gateway would seal it. */
export function usageBatchOf(records: readonly RequestLogRecord[]): UsageBatch {
  const acc = new UsageAccumulator();
  for (const r of records) acc.add(r);
  return acc.seal(randomUUID());
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
