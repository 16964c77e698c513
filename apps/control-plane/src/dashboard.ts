import type { DashboardSummary, KeyStats, Range, Timeseries, WindowCounts } from '@keyway/contracts';
import {
  dashboardSummaryQuerySchema,
  dashboardUsageQuerySchema,
  timeseriesQuerySchema,
  unpricedModelsQuerySchema,
} from '@keyway/contracts';
import type { DbClient } from '@keyway/db';
import {
  countRequestLogs,
  groupIdsOfType,
  hourlyStatTotals,
  listGroupTypes,
  sumHourlyStats,
} from '@keyway/db';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { dashboardUsage, unpricedModels } from './dashboard-usage';
import { parseQuery } from './http';
import { collectWarnings } from './warnings';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** rpm is averaged over this many minutes of request logs. */
const RPM_MINUTES = 10;

/** Hours covered by each dashboard range. */
export const rangeHours: Record<Range, number> = { '24h': 24, '7d': 7 * 24, '30d': 30 * 24 };

/** A range's window of hourly-stat buckets and the window of the same length just before it. */
export interface RangeWindow {
  /** First hour of the window (inclusive). */
  start: Date;
  /** End of the current hour (exclusive): the window includes the hour in progress. */
  end: Date;
  /** First hour of the previous window; it ends where this one starts. */
  previousStart: Date;
}

/**
 * The window of `range` at `now`, aligned to the hourly stats: the current hour and the hours before it, so
 * 24h is exactly the 24 buckets the 24h time series shows.
 */
export function rangeWindow(range: Range, now: Date): RangeWindow {
  const hours = rangeHours[range];
  const end = Math.floor(now.getTime() / HOUR) * HOUR + HOUR;
  const start = end - hours * HOUR;
  return { start: new Date(start), end: new Date(end), previousStart: new Date(start - hours * HOUR) };
}

/** Requests per minute over the ten minutes before `at`, from the request logs (one row per request). */
async function requestsPerMinute(db: DbClient, at: Date): Promise<number> {
  const count = await countRequestLogs(db, new Date(at.getTime() - RPM_MINUTES * MINUTE), at);
  return count / RPM_MINUTES;
}

function counts(requests: number, errors: number, rpm: number): WindowCounts {
  return { requests, errors, errorRate: requests === 0 ? 0 : errors / requests, rpm };
}

/** The live key counts of the standard groups (aggregates have no keys of their own). */
function keyTotals(
  stats: (groupId: number) => KeyStats,
  groups: ReadonlyArray<{ id: number; type: string }>,
): KeyStats {
  const out: KeyStats = { total: 0, active: 0, cooling: 0, invalid: 0, disabled: 0 };
  for (const g of groups) {
    if (g.type === 'aggregate') continue;
    const s = stats(g.id);
    out.total += s.total;
    out.active += s.active;
    out.cooling += s.cooling;
    out.invalid += s.invalid;
    out.disabled += s.disabled;
  }
  return out;
}

/** Builds the summary of `range` at `now`. */
export async function dashboardSummary(
  db: DbClient,
  stats: (groupId: number) => KeyStats,
  range: Range,
  now: Date,
): Promise<DashboardSummary> {
  const w = rangeWindow(range, now);
  const groups = await listGroupTypes(db);
  // Aggregates' hourly buckets repeat what their sub-groups already counted.
  const notAggregate = { excludeGroupIds: groups.filter((g) => g.type === 'aggregate').map((g) => g.id) };
  const [current, previous, rpm, previousRpm] = await Promise.all([
    sumHourlyStats(db, notAggregate, w.start, w.end),
    sumHourlyStats(db, notAggregate, w.previousStart, w.start),
    requestsPerMinute(db, now),
    // The previous window's rpm is the rate at the same moment one range ago.
    requestsPerMinute(db, new Date(now.getTime() - rangeHours[range] * HOUR)),
  ]);
  return {
    ...counts(current.requests, current.failures, rpm),
    keys: keyTotals(stats, groups),
    tokens: { prompt: current.promptTokens, completion: current.completionTokens },
    costUsd: current.costUsd,
    previous: counts(previous.requests, previous.failures, previousRpm),
  };
}

/**
 * Buckets of `range` at `now`, oldest first: 24 hours ending with the current one for 24h, UTC days ending with
 * today for 7d and 30d. Without `groupId`, every standard group; with it, that group's own buckets (for an
 * aggregate, the requests made through it).
 */
export async function dashboardTimeseries(
  db: DbClient,
  range: Range,
  groupId: number | undefined,
  now: Date,
): Promise<Timeseries> {
  const size = range === '24h' ? HOUR : DAY;
  const count = range === '24h' ? 24 : rangeHours[range] / 24;
  const last = Math.floor(now.getTime() / size) * size;
  const first = last - (count - 1) * size;
  // Without a group: every group but the aggregates, whose buckets repeat what their sub-groups counted.
  const groups =
    groupId === undefined ? { excludeGroupIds: await groupIdsOfType(db, 'aggregate') } : { groupId };
  const rows = await hourlyStatTotals(db, groups, new Date(first), new Date(last + size));
  const buckets = Array.from({ length: count }, (_, i) => ({
    start: new Date(first + i * size).toISOString(),
    requests: 0,
    errors: 0,
    promptTokens: 0,
    completionTokens: 0,
    costUsd: 0,
  }));
  for (const r of rows) {
    const b = buckets[Math.floor((r.time.getTime() - first) / size)];
    if (!b) continue;
    b.requests += r.requests;
    b.errors += r.failures;
    b.promptTokens += r.promptTokens;
    b.completionTokens += r.completionTokens;
    b.costUsd += r.costUsd;
  }
  return { buckets };
}

/**
 * `GET /summary`, `GET /timeseries`, `GET /warnings`, `GET /usage` and `GET /unpriced-models`, mounted at
 * `/api/dashboard`.
 */
export function dashboardRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/summary', async (c) => {
    const { range } = parseQuery(c, dashboardSummaryQuerySchema);
    const { db, keyPool } = c.var.deps;
    return c.json(await dashboardSummary(db, (id) => keyPool.stats(id), range, new Date()));
  });

  app.get('/timeseries', async (c) => {
    const q = parseQuery(c, timeseriesQuerySchema);
    return c.json(await dashboardTimeseries(c.var.deps.db, q.range, q.groupId, new Date()));
  });

  app.get('/warnings', async (c) => c.json(await collectWarnings(c.var.deps)));

  app.get('/usage', async (c) => {
    const q = parseQuery(c, dashboardUsageQuerySchema);
    return c.json(await dashboardUsage(c.var.deps.db, rangeWindow(q.range, new Date()), q.by));
  });

  app.get('/unpriced-models', async (c) => {
    const q = parseQuery(c, unpricedModelsQuerySchema);
    return c.json(await unpricedModels(c.var.deps.db, rangeWindow(q.range, new Date())));
  });

  return app;
}
