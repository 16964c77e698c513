import type { AccessKey } from '@keyway/contracts';
import type { AccessKeyRecord } from '@keyway/db';
import { readAccessKeyUsage, usageOf } from '@keyway/db';
import { accessKeyRules } from '@keyway/limits';
import type { ControlPlaneDeps } from './context';

/** The counter id of an access key in the shared counter layer (the gateway counts under the same id). */
export function accessKeyCounterId(id: number): string {
  return `ak:${id}`;
}

/**
 * Admitted requests in the trailing minute, from the shared counters. 0 without counters or when they cannot be
 * read: the list must not fail because Redis is away for a moment.
 */
async function rpmNow(deps: ControlPlaneDeps, row: AccessKeyRecord): Promise<number> {
  const rule = accessKeyRules(row.limits)[0];
  if (!deps.counters || !rule) return 0;
  try {
    return Math.max(0, Math.round((await deps.counters.read(accessKeyCounterId(row.id), rule)).used));
  } catch (err) {
    deps.logger.warn({ err, accessKeyId: row.id }, 'could not read the access key counters');
    return 0;
  }
}

/**
 * Access keys as the API shows them: the secret masked, usage of the UTC day and month, and rpm now. `usage` read
 * before `rows` keeps them consistent: a usage batch adds to the hourly stats and stamps the keys' `lastUsedAt` in
 * one transaction, so a key whose usage shows also shows when it was used (read after the rows, a batch landing in
 * between showed a count beside "not used yet").
 */
export async function accessKeyViews(
  deps: ControlPlaneDeps,
  rows: readonly AccessKeyRecord[],
  usage?: Awaited<ReturnType<typeof readAccessKeyUsage>>,
): Promise<AccessKey[]> {
  if (rows.length === 0) return [];
  const [byKey, rpm] = await Promise.all([
    usage ?? readAccessKeyUsage(deps.db, new Date()),
    Promise.all(rows.map((r) => rpmNow(deps, r))),
  ]);
  return rows.map((r, i) => ({
    id: r.id,
    name: r.name,
    key: r.keyMasked,
    groups: r.groups,
    models: r.models,
    limits: r.limits,
    expiresAt: r.expiresAt?.toISOString() ?? null,
    enabled: r.enabled,
    notes: r.notes,
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    usage: { ...usageOf(byKey, r.id), rpmNow: rpm[i] ?? 0 },
  }));
}
