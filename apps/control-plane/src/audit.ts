import type { AuditEntry, AuditPage } from '@keyway/contracts';
import { auditQuerySchema } from '@keyway/contracts';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { parseQuery } from './http';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `GET /` (the audit log, newest first, paginated), mounted at `/api/audit`. */
export function auditRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();
  app.get('/', async (c) => {
    const q = parseQuery(c, auditQuerySchema);
    const { db } = c.var.deps;
    const [rows, total] = await Promise.all([
      // id breaks ties: entries written within the same millisecond keep their write order.
      db.auditLog.findMany({
        orderBy: [{ time: 'desc' }, { id: 'desc' }],
        skip: (q.page - 1) * q.pageSize,
        take: q.pageSize,
      }),
      db.auditLog.count(),
    ]);
    const items: AuditEntry[] = rows.map((r) => ({
      time: r.time.toISOString(),
      clientIp: r.clientIp,
      action: r.action,
      target: r.target,
      details: isRecord(r.details) ? r.details : {},
    }));
    const body: AuditPage = { items, total, page: q.page, pageSize: q.pageSize };
    return c.json(body);
  });
  return app;
}
