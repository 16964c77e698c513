import { maskProxyUrl } from '@keyway/contracts';
import type { ProxyHealthItem, SubGroupRef } from '@keyway/contracts';

/** One alias of the aliases editor: the alias and the models it tries, in order. */
export interface AliasRow {
  alias: string;
  models: string[];
}

/** A sub-group of an aggregate as the form edits it (no group picked yet = undefined). */
export interface SubGroupRow {
  groupId: number | undefined;
  weight: number;
  /** The tier: 1 is tried first, a higher number only when every better tier is exhausted. */
  priority: number;
}

/** `modelAliases` as editor rows, in the API's order. */
export function aliasRows(aliases: Record<string, string[]>): AliasRow[] {
  return Object.entries(aliases).map(([alias, models]) => ({ alias, models: [...models] }));
}

/**
 * The `modelAliases` body of the editor rows: names trimmed, blank models dropped, rows left entirely blank
 * skipped. An alias with no model is sent as `[]` so the API says what is missing on that alias. A second row
 * for the same alias would silently replace the first in the object, so it is returned as a problem instead.
 */
export function aliasesBody(rows: readonly AliasRow[]): {
  aliases: Record<string, string[]>;
  duplicates: number[];
} {
  const aliases: Record<string, string[]> = {};
  const duplicates: number[] = [];
  rows.forEach((row, i) => {
    const alias = row.alias.trim();
    const models = row.models.map((m) => m.trim()).filter((m) => m !== '');
    if (alias === '' && models.length === 0) return;
    if (Object.hasOwn(aliases, alias)) duplicates.push(i);
    else aliases[alias] = models;
  });
  return { aliases, duplicates };
}

/** The first error about one alias (`modelAliases.smart` or `modelAliases.smart.1`), for its row. */
export function aliasError(errors: Record<string, string>, alias: string): string | undefined {
  const prefix = `modelAliases.${alias.trim()}`;
  const path = Object.keys(errors).find((p) => p === prefix || p.startsWith(`${prefix}.`));
  return path === undefined ? undefined : errors[path];
}

/** A group's sub-groups as form rows, best tier first (the API's order inside a tier). */
export function subGroupRows(subGroups: readonly SubGroupRef[]): SubGroupRow[] {
  return sortByTier(subGroups.map((s) => ({ groupId: s.groupId, weight: s.weight, priority: s.priority })));
}

/** Rows ordered by tier, keeping their relative order inside one (a stable sort). */
export function sortByTier<T extends { priority: number }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => a.priority - b.priority);
}

/** The `subGroups` body: rows with a group picked, each with its weight and tier. */
export function subGroupsBody(rows: readonly SubGroupRow[]): SubGroupRef[] {
  return rows
    .filter((s): s is SubGroupRow & { groupId: number } => s.groupId !== undefined)
    .map((s) => ({ groupId: s.groupId, weight: s.weight, priority: s.priority }));
}

/**
 * Each sub-group's share of its own tier's traffic, in percent: tiers do not split traffic between them, the
 * next one only takes over when the better one is exhausted (weight 0 = 0 %).
 */
export function tierShares(rows: ReadonlyArray<{ weight: number; priority: number }>): number[] {
  const totals = new Map<number, number>();
  for (const r of rows) totals.set(r.priority, (totals.get(r.priority) ?? 0) + Math.max(0, r.weight));
  return rows.map((r) => {
    const total = totals.get(r.priority) ?? 0;
    return total === 0 ? 0 : (Math.max(0, r.weight) / total) * 100;
  });
}

/**
 * The `proxyPool` body: each entry trimmed and kept in place, so an error on `proxyPool.2` is the third row.
 * Masked entries (`http://…@proxy:3128`) go back exactly as the API showed them: the API keeps the stored URL
 * with its credentials for them.
 */
export function proxyPoolBody(rows: readonly string[]): string[] {
  return rows.map((r) => r.trim());
}

/**
 * The health of a pool row: the API lists each proxy masked, so a row is looked up by its masked form (a saved
 * row already is; a row typed with credentials is masked the same way). Undefined for a proxy not saved yet.
 */
export function proxyHealthOf(items: readonly ProxyHealthItem[], row: string): ProxyHealthItem | undefined {
  const masked = maskProxyUrl(row.trim());
  return items.find((h) => h.proxy === masked);
}
