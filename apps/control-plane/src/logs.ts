import type { RequestLog } from '@keyway/contracts';
import { attemptSchema, logQuerySchema } from '@keyway/contracts';
import { Hono } from 'hono';
import { z } from 'zod';
import type { CpEnv } from './context';
import { parseQuery } from './http';

const attemptsSchema = z.array(attemptSchema).catch([]);

/** `GET /api/logs`: request logs, newest first. */
export function logRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();
  app.get('/', async (c) => {
    const q = parseQuery(c, logQuerySchema);
    const { db } = c.var.deps;
    const search = q.search?.trim();
    const where = {
      ...(q.groupId ? { OR: [{ groupId: q.groupId }, { parentGroupId: q.groupId }] } : {}),
      ...(q.result ? { success: q.result === 'success' } : {}),
      ...(q.statusCode === undefined ? {} : { statusCode: q.statusCode }),
      ...(q.model ? { model: q.model } : {}),
      ...(q.keyId ? { keyId: q.keyId } : {}),
      ...(q.from || q.to
        ? { time: { ...(q.from ? { gte: new Date(q.from) } : {}), ...(q.to ? { lte: new Date(q.to) } : {}) } }
        : {}),
      ...(search
        ? {
            AND: [
              {
                OR: [{ requestId: search }, { error: { contains: search } }, { model: { contains: search } }],
              },
            ],
          }
        : {}),
    };
    const [rows, total] = await Promise.all([
      db.requestLog.findMany({
        where,
        orderBy: { time: 'desc' },
        skip: (q.page - 1) * q.pageSize,
        take: q.pageSize,
      }),
      db.requestLog.count({ where }),
    ]);
    const items: RequestLog[] = rows.map((r) => ({
      id: r.id,
      requestId: r.requestId,
      time: r.time.toISOString(),
      groupId: r.groupId,
      groupName: r.groupName,
      parentGroupName: r.parentGroupName,
      keyId: r.keyId,
      key: r.keyMasked,
      proxyKey: r.proxyKeyMasked,
      model: r.model,
      statusCode: r.statusCode,
      success: r.success,
      durationMs: r.durationMs,
      ttfbMs: r.ttfbMs,
      stream: r.stream,
      retries: r.retries,
      attempts: attemptsSchema.parse(r.attempts),
      error: r.error,
      clientIp: r.clientIp,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
    }));
    return c.json({ items, total, page: q.page, pageSize: q.pageSize });
  });
  return app;
}
