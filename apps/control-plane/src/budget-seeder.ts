import { listAccessKeys, readAccessKeyUsage } from '@keyway/db';
import type { DbClient } from '@keyway/db';
import type { LogPort } from '@keyway/core';
import type { CounterLayer } from '@keyway/limits';
import { accessKeyRules, persistedFigure } from '@keyway/limits';

/** How often the database's figures are pushed under the gateways' shared counters. */
export const SEED_INTERVAL_MS = 10_000;

export interface BudgetSeeder {
  /** Seeds every access key's day, month and total counters now (also called when Redis lost its data). */
  seedNow(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps the gateways' shared access-key counters (Redis, distributed mode) at least at the database's figures for
 * day, month and total windows. Gateways never reach the database, so after Redis lost its data (a restart without
 * persistence, a flush) only this brings the budgets back; a seed only ever raises a counter to the database's
 * figure (`RedisCounters.seed` keeps the larger), so repeating it counts nothing twice. Runs at start, every
 * {@link SEED_INTERVAL_MS} (new keys and rules, a Redis that came back) and when the counters report a reset.
 */
export function startBudgetSeeder(o: {
  db: DbClient;
  counters: CounterLayer;
  logger: LogPort;
  intervalMs?: number;
}): BudgetSeeder {
  let running: Promise<void> | null = null;
  let failing = false;
  const seedOnce = async (): Promise<void> => {
    const keys = (await listAccessKeys(o.db)).filter((k) => k.enabled);
    const rulesOf = keys.map((k) => ({
      id: k.id,
      rules: accessKeyRules(k.limits).filter((r) => r.window !== 'minute'),
    }));
    if (!rulesOf.some((k) => k.rules.length > 0)) return;
    const usage = await readAccessKeyUsage(o.db, new Date());
    for (const { id, rules } of rulesOf) {
      const u = usage.get(id);
      if (!u) continue;
      for (const rule of rules) {
        const figure = persistedFigure(rule, u);
        if (figure !== null && figure > 0) await o.counters.seed(`ak:${id}`, rule, figure);
      }
    }
  };
  const seedNow = (): Promise<void> => {
    running ??= seedOnce()
      .then(() => {
        if (failing) o.logger.info({}, 'access-key budgets seeded into the shared counters again');
        failing = false;
      })
      .catch((err: unknown) => {
        // Redis or the database is away: the next tick tries again; said once per outage.
        if (!failing)
          o.logger.warn(
            { err: err instanceof Error ? err.message : String(err) },
            'seeding access-key budgets into the shared counters failed; retrying',
          );
        failing = true;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void seedNow(), o.intervalMs ?? SEED_INTERVAL_MS);
  timer.unref();
  void seedNow();
  return {
    seedNow,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
