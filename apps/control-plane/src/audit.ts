import type { AuditEntry, AuditPage } from '@keyway/contracts';
import type { SecretRegistry } from '@keyway/observability';
import { auditQuerySchema } from '@keyway/contracts';
import { listAuditEntries } from '@keyway/db';
import { Hono } from 'hono';
import type { CpEnv } from './context';
import { parseQuery } from './http';
import { cpSecrets } from './secrets';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Masks registered secrets in every string of `details`, however nested (the JSON keeps its shape). */
function maskDetails(details: Record<string, unknown>, secrets: SecretRegistry): Record<string, unknown> {
  if (secrets.size === 0) return details;
  const masked: unknown = JSON.parse(secrets.redactJsonLine(JSON.stringify(details)));
  return isRecord(masked) ? masked : {};
}

/** `GET /` (the audit log, newest first, paginated), mounted at `/api/audit`. */
export function auditRoutes(): Hono<CpEnv> {
  const app = new Hono<CpEnv>();
  app.get('/', async (c) => {
    const q = parseQuery(c, auditQuerySchema);
    const { rows, total } = await listAuditEntries(c.var.deps.db, {
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
    });
    const secrets = cpSecrets(c.var.deps);
    const items: AuditEntry[] = rows.map((r) => ({
      time: r.time.toISOString(),
      clientIp: r.clientIp,
      action: r.action,
      target: r.target,
      // Details never hold secrets by construction; masked anyway, as everything that leaves the process.
      details: isRecord(r.details) ? maskDetails(r.details, secrets) : {},
    }));
    const body: AuditPage = { items, total, page: q.page, pageSize: q.pageSize };
    return c.json(body);
  });
  return app;
}
