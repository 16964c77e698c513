import type { DbClient } from '../client';

/** Which groups' hourly buckets to add up: one group's own, or every group but some. */
export type StatGroups = { groupId: number } | { excludeGroupIds: readonly number[] };

/** Sums of hourly-stat buckets (0 where there were none). */
export interface StatTotals {
  requests: number;
  failures: number;
  promptTokens: number;
  completionTokens: number;
}

function groupWhere(groups: StatGroups) {
  return 'groupId' in groups
    ? { groupId: groups.groupId }
    : { groupId: { notIn: [...groups.excludeGroupIds] } };
}

/** The hourly-stat totals of `groups` over [from, to). */
export async function sumHourlyStats(
  db: DbClient,
  groups: StatGroups,
  from: Date,
  to: Date,
): Promise<StatTotals> {
  const r = await db.hourlyStat.aggregate({
    where: { ...groupWhere(groups), time: { gte: from, lt: to } },
    _sum: { requests: true, failures: true, promptTokens: true, completionTokens: true },
  });
  return {
    requests: r._sum.requests ?? 0,
    failures: r._sum.failures ?? 0,
    promptTokens: r._sum.promptTokens ?? 0,
    completionTokens: r._sum.completionTokens ?? 0,
  };
}

/** The hourly-stat totals of `groups` over [from, to), one entry per stored hour. */
export async function hourlyStatTotals(
  db: DbClient,
  groups: StatGroups,
  from: Date,
  to: Date,
): Promise<Array<StatTotals & { time: Date }>> {
  const rows = await db.hourlyStat.groupBy({
    by: ['time'],
    where: { ...groupWhere(groups), time: { gte: from, lt: to } },
    _sum: { requests: true, failures: true, promptTokens: true, completionTokens: true },
  });
  return rows.map((r) => ({
    time: r.time,
    requests: r._sum.requests ?? 0,
    failures: r._sum.failures ?? 0,
    promptTokens: r._sum.promptTokens ?? 0,
    completionTokens: r._sum.completionTokens ?? 0,
  }));
}
