import type { DbClient } from '../client';
import type { AuditLog, Prisma } from '../generated/sqlite/client';

/** One admin action to record. */
export interface AuditEntryRow {
  action: string;
  target: string;
  details: Prisma.InputJsonValue;
  clientIp: string;
}

/** Records an admin action (the time is the database's now). */
export async function writeAuditEntry(db: DbClient, entry: AuditEntryRow): Promise<void> {
  await db.auditLog.create({ data: entry });
}

/** One page of the audit log, newest first, and how many entries there are in all. */
export async function listAuditEntries(
  db: DbClient,
  page: { skip: number; take: number },
): Promise<{ rows: AuditLog[]; total: number }> {
  const [rows, total] = await Promise.all([
    // id breaks ties: entries written within the same millisecond keep their write order.
    db.auditLog.findMany({ orderBy: [{ time: 'desc' }, { id: 'desc' }], skip: page.skip, take: page.take }),
    db.auditLog.count(),
  ]);
  return { rows, total };
}
