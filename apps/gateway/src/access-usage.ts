import type { RequestLogRecord } from '@keyway/contracts';
import type { CounterLayer, LimitRule, PersistedAccessKeyUsage } from '@keyway/limits';
import { persistedFigure } from '@keyway/limits';
import { accessCounterId } from './access';
import type { AccessKeyRuntime, GatewayRuntime } from './runtime';

/** What {@link recordAccessKeyUsage} needs. */
export interface UsageRecordDeps {
  counters: CounterLayer;
  runtime: () => GatewayRuntime;
  metrics?: { accessKeyRequest?(name: string, record: RequestLogRecord): void };
}

/**
 * Charges a finished request's tokens (prompt + completion) and cost to its access key's counters, and counts it
 * in the key's metrics. A no-op for bare proxy keys. Runs for every record, whatever `requestLogging` says.
 */
export function recordAccessKeyUsage(deps: UsageRecordDeps, record: RequestLogRecord): void {
  if (record.accessKeyId === null) return;
  if (record.accessKeyName !== null) deps.metrics?.accessKeyRequest?.(record.accessKeyName, record);
  const tokens = (record.promptTokens ?? 0) + (record.completionTokens ?? 0);
  const costUsd = record.costUsd ?? 0;
  if (tokens <= 0 && costUsd <= 0) return;
  // The key's current rules: a key deleted meanwhile has nothing left to charge.
  const key = accessKeysById(deps.runtime()).get(record.accessKeyId);
  if (key) deps.counters.record(accessCounterId(key), key.rules, { tokens, costUsd });
}

/** Access keys of a runtime by id, built once per runtime (a reload makes a new runtime). */
const byIdCache = new WeakMap<GatewayRuntime, ReadonlyMap<number, AccessKeyRuntime>>();

function accessKeysById(runtime: GatewayRuntime): ReadonlyMap<number, AccessKeyRuntime> {
  let index = byIdCache.get(runtime);
  if (!index) {
    index = new Map([...runtime.accessKeys.values()].map((k) => [k.id, k]));
    byIdCache.set(runtime, index);
  }
  return index;
}

/**
 * Seeds the day, month and total counters of a runtime's access keys from their persisted usage, so budgets
 * survive a restart. Call it with each runtime before it serves: every (key, rule) is seeded once, before this
 * process counts anything in it — at start, and for a rule or key added later (it starts from what the key used
 * so far). The usage is read only when something is left to seed.
 */
export function counterSeeder(
  counters: CounterLayer,
  readUsage: () => Promise<ReadonlyMap<number, PersistedAccessKeyUsage>>,
): (runtime: GatewayRuntime) => Promise<void> {
  const seeded = new Set<string>();
  const fresh = (key: AccessKeyRuntime, rule: LimitRule) =>
    rule.window !== 'minute' && !seeded.has(`${key.id}:${rule.name}`);
  return async (runtime) => {
    const keys = [...runtime.accessKeys.values()].filter((k) => k.rules.some((r) => fresh(k, r)));
    if (keys.length === 0) return;
    const usage = await readUsage();
    for (const key of keys) {
      const u = usage.get(key.id);
      for (const rule of key.rules) {
        if (!fresh(key, rule)) continue;
        seeded.add(`${key.id}:${rule.name}`);
        const figure = u ? persistedFigure(rule, u) : null;
        if (figure !== null && figure > 0) await counters.seed(accessCounterId(key), rule, figure);
      }
    }
  };
}
