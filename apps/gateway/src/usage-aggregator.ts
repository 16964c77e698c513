import type { RequestLogRecord, UsageBatch, UsageBucket } from '@keyway/contracts';
import { uuidv7 } from '@keyway/core';
import type { Sink } from './log-sink';
import { createBufferedSink } from './log-sink';

const HOUR = 3_600_000;
/** The hourly-stats model column's width (MySQL VARCHAR(255)). */
const MODEL_MAX = 255;
/** Tokens one request may add: a provider reporting absurd counts must not overflow a 32-bit column. */
const TOKENS_MAX = 100_000_000;

/**
 * A model name as the counters store it. The client names the model, so it may hold NUL (PostgreSQL text cannot)
 * or be longer than the column: either would fail the whole batch on every retry.
 */
function storedModel(model: string | null): string {
  if (model === null) return '';
  const clean = model.includes('\u0000') ? model.replaceAll('\u0000', '') : model;
  return clean.length > MODEL_MAX ? clean.slice(0, MODEL_MAX) : clean;
}

function tokens(n: number | null): number {
  return n === null || !(n > 0) ? 0 : Math.min(Math.round(n), TOKENS_MAX);
}

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

/** What one batch has added up so far. */
class Accumulator {
  readonly buckets = new Map<string, UsageBucket>();
  readonly keys = new Map<number, { id: number; count: number; last: number }>();
  readonly accessKeys = new Map<
    number,
    { id: number; requests: number; tokens: number; costUsd: number; last: number }
  >();

  get empty(): boolean {
    return this.buckets.size === 0;
  }

  add(r: RequestLogRecord): void {
    const t = Date.parse(r.time);
    const hour = Math.floor(t / HOUR) * HOUR;
    const accessKeyId = r.accessKeyId ?? 0;
    this.bucket(hour, r.groupId, accessKeyId, r);
    // An aggregate's request counts in its own bucket too (its page shows what it served through members).
    if (r.parentGroupId !== null) this.bucket(hour, r.parentGroupId, accessKeyId, r);
    if (r.keyId !== null && r.success) {
      const k = this.keys.get(r.keyId);
      if (!k) this.keys.set(r.keyId, { id: r.keyId, count: 1, last: t });
      else {
        k.count++;
        if (t > k.last) k.last = t;
      }
    }
    if (r.accessKeyId !== null) {
      const used = tokens(r.promptTokens) + tokens(r.completionTokens);
      const a = this.accessKeys.get(r.accessKeyId);
      if (!a)
        this.accessKeys.set(r.accessKeyId, {
          id: r.accessKeyId,
          requests: 1,
          tokens: used,
          costUsd: r.costUsd ?? 0,
          last: t,
        });
      else {
        a.requests++;
        a.tokens += used;
        a.costUsd += r.costUsd ?? 0;
        if (t > a.last) a.last = t;
      }
    }
  }

  private bucket(hour: number, groupId: number, accessKeyId: number, r: RequestLogRecord): void {
    const model = storedModel(r.model);
    const id = `${hour}|${groupId}|${accessKeyId}|${model}`;
    let b = this.buckets.get(id);
    if (!b) {
      b = {
        time: new Date(hour).toISOString(),
        groupId,
        model,
        accessKeyId,
        requests: 0,
        failures: 0,
        promptTokens: 0,
        completionTokens: 0,
        cachedTokens: 0,
        costUsd: 0,
      };
      this.buckets.set(id, b);
    }
    b.requests++;
    if (!r.success) b.failures++;
    b.promptTokens += tokens(r.promptTokens);
    b.completionTokens += tokens(r.completionTokens);
    b.cachedTokens += tokens(r.cachedTokens);
    b.costUsd += r.costUsd ?? 0;
  }

  seal(id: string): UsageBatch {
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      id,
      buckets: [...this.buckets.values()],
      keys: [...this.keys.values()].map((k) => ({ id: k.id, count: k.count, last: iso(k.last) })),
      accessKeys: [...this.accessKeys.values()].map((a) => ({ ...a, last: iso(a.last) })),
    };
  }
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
  let current = new Accumulator();
  let timer: NodeJS.Timeout | null = null;

  const seal = (): void => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (current.empty) return;
    const sealed = current.seal(uuidv7(now()));
    current = new Accumulator();
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
