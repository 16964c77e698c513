import type { DbClient } from '../client';

/** Which groups' hourly buckets to add up: one group's own, or every group but some. */
export type StatGroups = { groupId: number } | { excludeGroupIds: readonly number[] };

/** Sums of hourly-stat buckets (0 where there were none). */
export interface StatTotals {
  requests: number;
  failures: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costUsd: number;
}

/** What the usage table groups hourly buckets by. */
export type UsageDimension = 'group' | 'model' | 'accessKey';

/** One row of the usage table: the totals of one group, model or access key (0 = bare proxy keys). */
export type UsageTotals = StatTotals & { key: number | string };

const sums = {
  requests: true,
  failures: true,
  promptTokens: true,
  completionTokens: true,
  cachedTokens: true,
  costUsd: true,
} as const;

type Sums = { [K in keyof typeof sums]?: number | null };

function totals(s: Sums): StatTotals {
  return {
    requests: s.requests ?? 0,
    failures: s.failures ?? 0,
    promptTokens: s.promptTokens ?? 0,
    completionTokens: s.completionTokens ?? 0,
    cachedTokens: s.cachedTokens ?? 0,
    costUsd: s.costUsd ?? 0,
  };
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
    _sum: sums,
  });
  return totals(r._sum);
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
    _sum: sums,
  });
  return rows.map((r) => ({ time: r.time, ...totals(r._sum) }));
}

const dimensionColumn = { group: 'groupId', model: 'model', accessKey: 'accessKeyId' } as const;

/** The hourly-stat totals of `groups` over [from, to) per group, model or access key, most requests first. */
export async function usageTotals(
  db: DbClient,
  groups: StatGroups,
  by: UsageDimension,
  from: Date,
  to: Date,
): Promise<UsageTotals[]> {
  const column = dimensionColumn[by];
  const rows = await db.hourlyStat.groupBy({
    by: [column],
    where: { ...groupWhere(groups), time: { gte: from, lt: to } },
    _sum: sums,
  });
  return rows
    .map((r) => ({ key: r[column], ...totals(r._sum) }))
    .sort((a, b) => b.requests - a.requests || String(a.key).localeCompare(String(b.key)));
}

/** Every group's id, name and type (the usage table names its rows and leaves the aggregates out). */
export async function groupLabels(db: DbClient): Promise<Array<{ id: number; name: string; type: string }>> {
  return db.group.findMany({ select: { id: true, name: true, type: true } });
}
