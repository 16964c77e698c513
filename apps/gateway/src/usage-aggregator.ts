import type { RequestLogRecord, UsageBatch } from '@keyway/contracts';
import type { KeyUse } from '@keyway/core';
import { UsageAccumulator, uuidv7 } from '@keyway/core';
import type { Sink } from './log-sink';
import { createBufferedSink } from './log-sink';

/** Where every finished record goes for the usage counters, whatever `requestLogging` says. */
export type UsageSink = Sink<RequestLogRecord>;

/** Applies one usage batch (idempotently, by its id): the database, or the log queue in distributed mode. */
export type UsageBatchWriter = (batch: UsageBatch) => Promise<void>;

export interface UsageAggregatorOptions {
  write: UsageBatchWriter;
  /** How often the buckets are sealed into a batch and handed to `write` (default 1 s). */
  intervalMs?: number;
  /** Sealed batches kept at most while the writer is failing (default one hour's worth at 1 s). */
  maxPending?: number;
  onError?: (error: unknown, pending: number) => void;
  onDrop?: (count: number) => void;
  /** For tests: the clock batch ids are made from. */
  now?: () => number;
  /** Upstream keys' counts go with every batch while at most this many keys have counts waiting (default 256). */
  keysEveryBatch?: number;
  /** Past that, they are gathered this long and then written together (default 60 s). */
  keysGatherMs?: number;
  /** Most upstream keys in one batch; the rest of a gathering goes in batches of its own (default 2,000). */
  keysPerBatch?: number;
}

/**
 * Upstream keys' counts (requests, last use) cost the writer a row update each, on a page of its own when keys
 * are many: with 100,000 keys in round robin at 10,000 requests a second, written every second, that was ~one
 * `api_keys` update and one dirtied page per proxied request (and twice that many queries for the worker in
 * distributed mode). So while a second's batch would carry more than `KEYS_EVERY_BATCH` keys, their counts are
 * summed for up to a minute (GPT-Load writes them once a minute, at its log flush) and then written sorted by id,
 * `KEYS_PER_BATCH` to a batch (one short transaction, or one queue job, each). A small pool's keys still show
 * their counts within a second. The hourly stats and access keys' totals (budgets) go every second regardless.
 */
export const KEYS_EVERY_BATCH = 256;
export const KEYS_GATHER_MS = 60_000;
export const KEYS_PER_BATCH = 2_000;

/**
 * Adds every finished request (refused ones too) to hourly buckets per group, model and access key, and to the
 * use of its upstream key and access key; about once a second the sums are sealed into one {@link UsageBatch}
 * with a fresh id and handed to `write`. A batch is sealed before its first write, so a retry after a failure (or
 * after a write that committed but did not answer) carries the same id and the writer counts it once.
 */
export function createUsageAggregator(o: UsageAggregatorOptions): UsageSink & { pending(): number } {
  const intervalMs = o.intervalMs ?? 1000;
  const now = o.now ?? Date.now;
  // Sealed batches go out one per write, at once; a failed one stays first in line and is retried on the timer.
  const out = createBufferedSink<UsageBatch>({
    maxBatch: 1,
    intervalMs,
    maxBuffered: o.maxPending ?? 3600,
    write: async (batches) => {
      for (const b of batches) await o.write(b);
    },
    ...(o.onError ? { onError: o.onError } : {}),
    ...(o.onDrop ? { onDrop: o.onDrop } : {}),
  });
  const everyBatch = o.keysEveryBatch ?? KEYS_EVERY_BATCH;
  const gatherMs = o.keysGatherMs ?? KEYS_GATHER_MS;
  const perBatch = o.keysPerBatch ?? KEYS_PER_BATCH;
  let current = new UsageAccumulator();
  /** Seals the records of the last second; armed by the first record after a seal. */
  let timer: NodeJS.Timeout | null = null;
  /** Upstream keys' counts not yet in a batch; while gathering, since when, and the timer that ends it. */
  const waiting = new Map<number, KeyUse>();
  let gathering: { since: number; timer: NodeJS.Timeout } | null = null;

  /** The waiting keys' counts to write now (`all`: every one), sorted by id (the writers' row order). */
  const dueKeys = (all: boolean, at: number): KeyUse[] => {
    for (const k of current.keys.values()) {
      const w = waiting.get(k.id);
      if (!w) waiting.set(k.id, k);
      else {
        w.count += k.count;
        if (k.last > w.last) w.last = k.last;
      }
    }
    if (waiting.size === 0) return [];
    const due = all || (gathering ? at - gathering.since >= gatherMs : waiting.size <= everyBatch);
    if (!due) {
      if (!gathering) {
        // Not waiting on more traffic: the gathered counts go out when their minute is up.
        const t = setTimeout(() => seal(true), gatherMs);
        t.unref();
        gathering = { since: at, timer: t };
      }
      return [];
    }
    if (gathering) clearTimeout(gathering.timer);
    gathering = null;
    const keys = [...waiting.values()].sort((a, b) => a.id - b.id);
    waiting.clear();
    return keys;
  };

  const seal = (allKeys: boolean): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    const at = now();
    const keys = dueKeys(allKeys, at);
    if (!current.empty || keys.length > 0) {
      out.push(current.seal(uuidv7(at), keys.slice(0, perBatch)));
      for (let i = perBatch; i < keys.length; i += perBatch)
        out.push(new UsageAccumulator().seal(uuidv7(at), keys.slice(i, i + perBatch)));
    }
    current = new UsageAccumulator();
  };

  return {
    push(record) {
      current.add(record);
      if (!timer) {
        timer = setTimeout(() => seal(false), intervalMs);
        timer.unref();
      }
    },
    async flush() {
      seal(true);
      await out.flush();
    },
    pending: () => out.pending() + (current.empty && waiting.size === 0 ? 0 : 1),
  };
}
