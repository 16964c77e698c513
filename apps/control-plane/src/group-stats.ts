import type { GroupStats, Range } from '@keyway/contracts';
import { AppError } from '@keyway/core';
import { groupExists, sumHourlyStats } from '@keyway/db';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { rangeWindow } from './dashboard';
import { idParam } from './http';

const RANGES: readonly Range[] = ['24h', '7d', '30d'];

/** `GET /:id/stats` (a group's live key counts and its requests per range), mounted at `/api/groups`. */
export function groupStatsRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();

  app.get('/:id/stats', async (c) => {
    const id = idParam(c, 'id', 'Group');
    const { db, keyPool } = c.var.deps;
    if (!(await groupExists(db, id))) throw AppError.notFound('Group');
    const now = new Date();
    // The group's own buckets: for an aggregate, the requests made through it.
    const totals = await Promise.all(
      RANGES.map(async (range) => {
        const w = rangeWindow(range, now);
        const r = await sumHourlyStats(db, { groupId: id }, w.start, w.end);
        return { total: r.requests, failed: r.failures };
      }),
    );
    const [day, week, month] = totals as [
      GroupStats['requests']['24h'],
      GroupStats['requests']['7d'],
      GroupStats['requests']['30d'],
    ];
    const body: GroupStats = { keys: keyPool.stats(id), requests: { '24h': day, '7d': week, '30d': month } };
    return c.json(body);
  });

  return app;
}
