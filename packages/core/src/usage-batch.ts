import type { RequestLogRecord, UsageBatch, UsageBucket } from '@keyway/contracts';

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

/** An upstream key's successful requests since its counts were last written, and its latest use (epoch ms). */
export interface KeyUse {
  id: number;
  count: number;
  last: number;
}

/**
 * What finished requests add to the usage counters, summed until sealed into one {@link UsageBatch}: hourly
 * buckets per group, model and access key (an aggregate's request in its member's bucket and its own), each
 * upstream key's successful requests and each access key's totals, with their latest use. The gateway's usage
 * aggregator fills one a second; tests seed the counters with it the way a gateway would.
 */
export class UsageAccumulator {
  readonly buckets = new Map<string, UsageBucket>();
  readonly keys = new Map<number, KeyUse>();
  readonly accessKeys = new Map<
    number,
    { id: number; requests: number; tokens: number; costUsd: number; last: number }
  >();

  /** The bucket the previous record went to, and what chose it: traffic comes in runs of one group and model. */
  private last: {
    hour: number;
    groupId: number;
    accessKeyId: number;
    model: string | null;
    bucket: UsageBucket;
  } | null = null;

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
    const l = this.last;
    const b =
      l && l.hour === hour && l.groupId === groupId && l.accessKeyId === accessKeyId && l.model === r.model
        ? l.bucket
        : this.find(hour, groupId, accessKeyId, r.model);
    b.requests++;
    if (!r.success) b.failures++;
    b.promptTokens += tokens(r.promptTokens);
    b.completionTokens += tokens(r.completionTokens);
    b.cachedTokens += tokens(r.cachedTokens);
    b.costUsd += r.costUsd ?? 0;
  }

  /** The bucket of an hour, group, access key and model (made when new), remembered as the last one used. */
  private find(hour: number, groupId: number, accessKeyId: number, named: string | null): UsageBucket {
    const model = storedModel(named);
    const id = `${hour}|${groupId}|${accessKeyId}|${model}`;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      bucket = {
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
      this.buckets.set(id, bucket);
    }
    this.last = { hour, groupId, accessKeyId, model: named, bucket };
    return bucket;
  }

  /**
   * The batch of everything added, under `id` (the writer's idempotency key); with `keys`, those upstream keys'
   * counts instead of the ones added here (the gateway's aggregator gathers them apart, see usage-aggregator.ts).
   */
  seal(id: string, keys: Iterable<KeyUse> = this.keys.values()): UsageBatch {
    return {
      id,
      buckets: [...this.buckets.values()],
      keys: keyUses(keys),
      accessKeys: [...this.accessKeys.values()].map((a) => ({ ...a, last: iso(a.last) })),
    };
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Upstream keys' counts as a batch carries them (latest use in ISO). */
function keyUses(keys: Iterable<KeyUse>): UsageBatch['keys'] {
  const out: UsageBatch['keys'] = [];
  for (const k of keys) out.push({ id: k.id, count: k.count, last: iso(k.last) });
  return out;
}
