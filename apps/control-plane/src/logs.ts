import type { RequestLog } from '@keyway/contracts';
import { attemptSchema, logQuerySchema } from '@keyway/contracts';
import { listRequestLogs } from '@keyway/db';
import { Hono } from 'hono';
import { z } from 'zod';
import type { CpEnv } from './context';
import { parseQuery } from './http';
import { cpSecrets } from './secrets';

const attemptsSchema = z.array(attemptSchema).catch([]);

/** `GET /api/logs`: request logs, newest first. */
export function logRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();
  app.get('/', async (c) => {
    const q = parseQuery(c, logQuerySchema);
    const { rows, total } = await listRequestLogs(c.var.deps.db, q, {
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
    });
    // Error text came from upstreams: masked again on the way out, for records stored before a secret was known.
    const secrets = cpSecrets(c.var.deps);
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
      attempts: attemptsSchema
        .parse(r.attempts)
        .map((a) => (a.error ? { ...a, error: secrets.maskText(a.error) } : a)),
      error: secrets.maskNullable(r.error),
      clientIp: r.clientIp,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      cachedTokens: r.cachedTokens,
      costUsd: r.costUsd,
      accessKeyId: r.accessKeyId,
      accessKeyName: r.accessKeyName,
      translatedFrom:
        r.translatedFrom === 'openai' || r.translatedFrom === 'anthropic' ? r.translatedFrom : null,
    }));
    return c.json({ items, total, page: q.page, pageSize: q.pageSize });
  });
  return app;
}
