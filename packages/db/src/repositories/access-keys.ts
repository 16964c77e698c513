import type { AccessKeyGroups, AccessKeyLimits } from '@keyway/contracts';
import { accessKeyGroupsSchema, accessKeyLimitsSchema, NO_LIMITS } from '@keyway/contracts';
import type { DbClient } from '../client';
import type { AccessKey as AccessKeyRow } from '../generated/sqlite/client';

/** An access key as stored, its JSON columns read back into their types (never the secret: only its hash). */
export interface AccessKeyRecord {
  id: number;
  name: string;
  keyHash: string;
  keyMasked: string;
  groups: AccessKeyGroups;
  models: string[];
  limits: AccessKeyLimits;
  expiresAt: Date | null;
  enabled: boolean;
  notes: string;
  lastUsedAt: Date | null;
  totalCostUsd: number;
  createdAt: Date;
}

/** The columns of a new access key. */
export interface NewAccessKeyRow {
  name: string;
  keyHash: string;
  keyMasked: string;
  groups: AccessKeyGroups;
  models: readonly string[];
  limits: AccessKeyLimits;
  expiresAt: Date | null;
  enabled: boolean;
  notes: string;
}

/** The columns a patch changes (the key itself changes only through `rotateAccessKey`). */
export type AccessKeyRowPatch = Partial<Omit<NewAccessKeyRow, 'keyHash' | 'keyMasked'>>;

// A stored value that no longer passes (written by hand, by another version) reads as "no groups" and
// "no limits" rather than failing the whole list; the API shows what the gateway will enforce.
const groupsColumn = accessKeyGroupsSchema.catch([]);
const limitsColumn = accessKeyLimitsSchema.catch(NO_LIMITS);

function toRecord(r: AccessKeyRow): AccessKeyRecord {
  return {
    id: r.id,
    name: r.name,
    keyHash: r.keyHash,
    keyMasked: r.keyMasked,
    groups: groupsColumn.parse(r.groups),
    models: Array.isArray(r.models) ? r.models.filter((m): m is string => typeof m === 'string') : [],
    limits: limitsColumn.parse(r.limits),
    expiresAt: r.expiresAt,
    enabled: r.enabled,
    notes: r.notes,
    lastUsedAt: r.lastUsedAt,
    totalCostUsd: r.totalCostUsd,
    createdAt: r.createdAt,
  };
}

function jsonColumns(row: AccessKeyRowPatch) {
  return {
    ...(row.groups === undefined ? {} : { groups: row.groups }),
    ...(row.models === undefined ? {} : { models: [...row.models] }),
    ...(row.limits === undefined ? {} : { limits: row.limits }),
  };
}

/** Stores a new access key (a taken name or hash fails with Prisma's unique violation, P2002). */
export async function createAccessKey(db: DbClient, row: NewAccessKeyRow): Promise<AccessKeyRecord> {
  const created = await db.accessKey.create({
    data: {
      name: row.name,
      keyHash: row.keyHash,
      keyMasked: row.keyMasked,
      expiresAt: row.expiresAt,
      enabled: row.enabled,
      notes: row.notes,
      groups: row.groups,
      models: [...row.models],
      limits: row.limits,
    },
  });
  return toRecord(created);
}

/** Every access key, oldest first. */
export async function listAccessKeys(db: DbClient): Promise<AccessKeyRecord[]> {
  const rows = await db.accessKey.findMany({ orderBy: { id: 'asc' } });
  return rows.map(toRecord);
}

/** One page of the access keys, oldest first, and how many there are. */
export async function listAccessKeyPage(
  db: DbClient,
  page: { skip: number; take: number },
): Promise<{ rows: AccessKeyRecord[]; total: number }> {
  const [rows, total] = await Promise.all([
    db.accessKey.findMany({ orderBy: { id: 'asc' }, skip: page.skip, take: page.take }),
    db.accessKey.count(),
  ]);
  return { rows: rows.map(toRecord), total };
}

/** One access key, or null. */
export async function findAccessKey(db: DbClient, id: number): Promise<AccessKeyRecord | null> {
  const row = await db.accessKey.findUnique({ where: { id } });
  return row ? toRecord(row) : null;
}

/** The access key stored under this hash, or null. */
export async function findAccessKeyByHash(db: DbClient, keyHash: string): Promise<AccessKeyRecord | null> {
  const row = await db.accessKey.findUnique({ where: { keyHash } });
  return row ? toRecord(row) : null;
}

/** Which of these hashes belong to an access key. */
export async function accessKeyHashesAmong(db: DbClient, hashes: readonly string[]): Promise<string[]> {
  if (hashes.length === 0) return [];
  const rows = await db.accessKey.findMany({
    where: { keyHash: { in: [...hashes] } },
    select: { keyHash: true },
  });
  return rows.map((r) => r.keyHash);
}

/** Applies a patch; null when there is no such key (a taken name fails with P2002). */
export async function updateAccessKey(
  db: DbClient,
  id: number,
  patch: AccessKeyRowPatch,
): Promise<AccessKeyRecord | null> {
  const { groups: _g, models: _m, limits: _l, ...plain } = patch;
  const result = await db.accessKey.updateMany({ where: { id }, data: { ...plain, ...jsonColumns(patch) } });
  return result.count === 0 ? null : findAccessKey(db, id);
}

/** Replaces the key's secret (its hash and masked form); the old secret stops matching. Null when absent. */
export async function rotateAccessKey(
  db: DbClient,
  id: number,
  key: { keyHash: string; keyMasked: string },
): Promise<AccessKeyRecord | null> {
  const result = await db.accessKey.updateMany({ where: { id }, data: key });
  return result.count === 0 ? null : findAccessKey(db, id);
}

/** Deletes an access key; false when there was none. Its hourly stats stay (they name it by id). */
export async function deleteAccessKey(db: DbClient, id: number): Promise<boolean> {
  const result = await db.accessKey.deleteMany({ where: { id } });
  return result.count > 0;
}

/** Usage of one access key (UTC day and month from the hourly stats; the total from the key's own row). */
export interface AccessKeyUsageRow {
  requestsToday: number;
  tokensToday: number;
  costUsdToday: number;
  tokensMonth: number;
  costUsdMonth: number;
  costUsdTotal: number;
}

const ZERO_USAGE: AccessKeyUsageRow = {
  requestsToday: 0,
  tokensToday: 0,
  costUsdToday: 0,
  tokensMonth: 0,
  costUsdMonth: 0,
  costUsdTotal: 0,
};

/**
 * Usage of every access key at `now`, by id: requests, tokens (prompt + completion) and cost since 00:00 UTC,
 * tokens and cost since the 1st of the month 00:00 UTC, and the lifetime cost kept on the key's row (hourly
 * stats are pruned; the total budget must not be). A key without usage is absent: read it as zeros.
 */
export async function readAccessKeyUsage(db: DbClient, now: Date): Promise<Map<number, AccessKeyUsageRow>> {
  const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const sums = { requests: true, promptTokens: true, completionTokens: true, costUsd: true } as const;
  // An aggregate's buckets repeat what its sub-groups counted (as in the dashboard's totals).
  const aggregates = await db.group.findMany({ where: { type: 'aggregate' }, select: { id: true } });
  const groupId = { notIn: aggregates.map((g) => g.id) };
  const window = (from: Date) =>
    db.hourlyStat.groupBy({
      by: ['accessKeyId'],
      where: { accessKeyId: { gt: 0 }, groupId, time: { gte: from } },
      _sum: sums,
    });
  const [day, month, totals] = await Promise.all([
    window(dayStart),
    window(monthStart),
    db.accessKey.findMany({ select: { id: true, totalCostUsd: true } }),
  ]);
  const out = new Map<number, AccessKeyUsageRow>();
  const entry = (id: number): AccessKeyUsageRow => {
    let e = out.get(id);
    if (!e) out.set(id, (e = { ...ZERO_USAGE }));
    return e;
  };
  for (const r of day) {
    const e = entry(r.accessKeyId);
    e.requestsToday = r._sum.requests ?? 0;
    e.tokensToday = (r._sum.promptTokens ?? 0) + (r._sum.completionTokens ?? 0);
    e.costUsdToday = r._sum.costUsd ?? 0;
  }
  for (const r of month) {
    const e = entry(r.accessKeyId);
    e.tokensMonth = (r._sum.promptTokens ?? 0) + (r._sum.completionTokens ?? 0);
    e.costUsdMonth = r._sum.costUsd ?? 0;
  }
  for (const t of totals) if (t.totalCostUsd !== 0) entry(t.id).costUsdTotal = t.totalCostUsd;
  return out;
}

/** Access-key usage with zeros for a key without any. */
export function usageOf(usage: ReadonlyMap<number, AccessKeyUsageRow>, id: number): AccessKeyUsageRow {
  return usage.get(id) ?? ZERO_USAGE;
}
