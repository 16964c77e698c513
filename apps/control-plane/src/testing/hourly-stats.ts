// Test-only: hourly stats as the usage writer keeps them (one bucket per hour, group, model and access key; a
// request made through an aggregate counted in the aggregate's bucket too), written straight from records so
// dashboard tests do not depend on which writer builds them.
import type { RequestLogRecord } from '@keyway/contracts';
import type { DbClient } from '@keyway/db';

const HOUR = 3_600_000;

/** Replaces every hourly stat with the buckets of `records`. */
export async function seedHourlyStats(db: DbClient, records: readonly RequestLogRecord[]): Promise<void> {
  await db.hourlyStat.deleteMany();
  for (const r of records) {
    const time = new Date(Math.floor(Date.parse(r.time) / HOUR) * HOUR);
    const groups = r.parentGroupId === null ? [r.groupId] : [r.groupId, r.parentGroupId];
    for (const groupId of groups) {
      const key = { time, groupId, model: r.model ?? '', accessKeyId: r.accessKeyId ?? 0 };
      const add = {
        requests: 1,
        failures: r.success ? 0 : 1,
        promptTokens: r.promptTokens ?? 0,
        completionTokens: r.completionTokens ?? 0,
        cachedTokens: r.cachedTokens ?? 0,
        costUsd: r.costUsd ?? 0,
      };
      await db.hourlyStat.upsert({
        where: { time_groupId_model_accessKeyId: key },
        create: { ...key, ...add },
        update: {
          requests: { increment: add.requests },
          failures: { increment: add.failures },
          promptTokens: { increment: add.promptTokens },
          completionTokens: { increment: add.completionTokens },
          cachedTokens: { increment: add.cachedTokens },
          costUsd: { increment: add.costUsd },
        },
      });
    }
  }
}
