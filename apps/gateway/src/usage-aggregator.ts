import type { RequestLogRecord, UsageBatch } from '@keyway/contracts';
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
}

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
  let current = new UsageAccumulator();
  let timer: NodeJS.Timeout | null = null;

  const seal = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (current.empty) return;
    const sealed = current.seal(uuidv7(now()));
    current = new UsageAccumulator();
    out.push(sealed);
  };

  return {
    push(record) {
      current.add(record);
      if (!timer) {
        timer = setTimeout(seal, intervalMs);
        timer.unref();
      }
    },
    async flush() {
      seal();
      await out.flush();
    },
    pending: () => out.pending() + (current.empty ? 0 : 1),
  };
}
