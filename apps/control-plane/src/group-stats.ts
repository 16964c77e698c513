import type { GroupStats, Range } from '@keyway/contracts';
import { AppError } from '@keyway/core';
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
    const group = await db.group.findUnique({ where: { id }, select: { id: true } });
    if (!group) throw AppError.notFound('Group');
    const now = new Date();
    // The group's own buckets: for an aggregate, the requests made through it.
    const totals = await Promise.all(
      RANGES.map(async (range) => {
        const w = rangeWindow(range, now);
        const r = await db.hourlyStat.aggregate({
          where: { groupId: id, time: { gte: w.start, lt: w.end } },
          _sum: { requests: true, failures: true },
        });
        return { total: r._sum.requests ?? 0, failed: r._sum.failures ?? 0 };
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
