import type { DbClient } from '../client';
import { Prisma } from '../generated/sqlite/client';

/** One model-scoped cooling as persisted: when it ends (epoch ms) and why. */
export interface StoredModelCooling {
  until: number;
  reason: string;
}

/** A key's health as persisted (the latest change wins). */
export interface KeyStateRow {
  keyId: number;
  status: string;
  failureCount: number;
  cooldownUntil: number | null;
  lastError: string | null;
  /**
   * Models the key cools for, by model (null or empty = none). Absent = leave the stored coolings as they are (a
   * change from a sender that does not know about them).
   */
  modelCooling?: Readonly<Record<string, StoredModelCooling>> | null;
  /** When the change happened (ms since the epoch); of several rows for one key, the one with the latest wins. */
  at?: number;
}

/** The latest row of each key: greatest `at`, and of equal (or absent) ones the last in the list. */
export function latestKeyStates(states: readonly KeyStateRow[]): KeyStateRow[] {
  const latest = new Map<number, KeyStateRow>();
  for (const s of states) {
    const seen = latest.get(s.keyId);
    if (!seen || (s.at ?? 0) >= (seen.at ?? 0)) latest.set(s.keyId, s);
  }
  return [...latest.values()];
}

/**
 * Persists the latest health of each changed key (see {@link latestKeyStates}) in one transaction; deleted keys
 * are skipped. Returns how many keys were updated.
 */
export async function writeKeyStates(db: DbClient, states: readonly KeyStateRow[]): Promise<number> {
  if (states.length === 0) return 0;
  const results = await db.$transaction(
    latestKeyStates(states).map((s) =>
      db.apiKey.updateMany({
        where: { id: s.keyId },
        data: {
          status: s.status,
          failureCount: s.failureCount,
          cooldownUntil: s.cooldownUntil === null ? null : new Date(s.cooldownUntil),
          lastError: s.lastError === null ? null : s.lastError.slice(0, 2000),
          ...(s.modelCooling === undefined ? {} : { modelCooling: modelCoolingColumn(s.modelCooling) }),
        },
      }),
    ),
  );
  return results.reduce((sum, r) => sum + r.count, 0);
}

/** The `modelCooling` column's value: the map as JSON, or SQL NULL when there is none. */
export function modelCoolingColumn(
  m: Readonly<Record<string, StoredModelCooling>> | null,
): Prisma.InputJsonValue | typeof Prisma.DbNull {
  if (!m) return Prisma.DbNull;
  const entries = Object.entries(m);
  if (entries.length === 0) return Prisma.DbNull;
  return Object.fromEntries(entries.map(([model, e]) => [model, { until: e.until, reason: e.reason }]));
}
