import type { DashboardUsage, UnpricedModels, UsageItem } from '@keyway/contracts';
import { lookupPrice } from '@keyway/contracts';
import type { DbClient, UsageDimension, UsageTotals } from '@keyway/db';
import { groupLabels, listAccessKeys, usageTotals } from '@keyway/db';
import { effectivePrices } from './prices';

/** A window of hourly-stat buckets, [start, end). */
interface Window {
  start: Date;
  end: Date;
}

/** Totals per group (or model, or access key), without the aggregates, whose buckets repeat their members'. */
async function totalsBy(db: DbClient, w: Window, by: UsageDimension) {
  const groups = await groupLabels(db);
  const excludeGroupIds = groups.filter((g) => g.type === 'aggregate').map((g) => g.id);
  const rows = await usageTotals(db, { excludeGroupIds }, by, w.start, w.end);
  return { rows, groups };
}

async function namesOf(
  db: DbClient,
  by: UsageDimension,
  groups: ReadonlyArray<{ id: number; name: string }>,
): Promise<(key: number | string) => string> {
  if (by === 'model') return (key) => String(key);
  const names = new Map<number, string>(
    by === 'group'
      ? groups.map((g) => [g.id, g.name])
      : (await listAccessKeys(db)).map((k) => [k.id, k.name]),
  );
  // A deleted group or key keeps its stats: it shows by id. Access key 0 = requests made with bare proxy keys.
  return (key) => names.get(Number(key)) ?? (by === 'accessKey' && key === 0 ? '' : `#${key}`);
}

function item(r: UsageTotals, name: string): UsageItem {
  return {
    id: r.key,
    name,
    requests: r.requests,
    errors: r.failures,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    cachedTokens: r.cachedTokens,
    cacheHitRate: cacheHitRate(r.cachedTokens, r.promptTokens),
    costUsd: r.costUsd,
  };
}

/**
 * Cached prompt tokens / prompt tokens, or null without prompt tokens. Every channel counts cached tokens inside
 * its prompt tokens; the cap keeps an upstream that reports them otherwise from showing more than 100%.
 */
export function cacheHitRate(cachedTokens: number, promptTokens: number): number | null {
  return promptTokens > 0 ? Math.min(1, cachedTokens / promptTokens) : null;
}

/** `GET /api/dashboard/usage`: who spent what, per group, model or access key, from the hourly stats. */
export async function dashboardUsage(db: DbClient, w: Window, by: UsageDimension): Promise<DashboardUsage> {
  const { rows, groups } = await totalsBy(db, w, by);
  const name = await namesOf(db, by, groups);
  return { items: rows.map((r) => item(r, name(r.key))) };
}

/**
 * `GET /api/dashboard/unpriced-models`: the models that reported tokens in the window and have no price in the
 * current table (their requests cost nothing on the dashboard and are refused to keys with a USD limit).
 */
export async function unpricedModels(db: DbClient, w: Window): Promise<UnpricedModels> {
  const [{ rows }, prices] = await Promise.all([totalsBy(db, w, 'model'), effectivePrices(db)]);
  const table = new Map(prices.map((p) => [p.model, p]));
  const items = rows
    .filter((r) => r.key !== '' && r.promptTokens + r.completionTokens > 0)
    .filter((r) => lookupPrice(table, String(r.key)) === null)
    .map((r) => ({
      model: String(r.key),
      requests: r.requests,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
    }));
  return { items };
}
