import type { RequestLogRecord } from '@keyway/contracts';

const HOUR = 3_600_000;

/** One hourly counter row to add to. */
export interface HourBucket {
  time: Date;
  groupId: number;
  model: string;
  requests: number;
  failures: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * What a batch of request records adds to the counters: hourly buckets per group and model (an aggregate's
 * requests count in its own bucket too) and, per key, successful requests and the latest use.
 */
export function aggregateBatch(records: readonly RequestLogRecord[]): {
  buckets: HourBucket[];
  perKey: Map<number, { count: number; last: Date }>;
} {
  const buckets = new Map<string, HourBucket>();
  const add = (time: Date, groupId: number, r: RequestLogRecord) => {
    const model = r.model ?? '';
    const id = `${time.getTime()}|${groupId}|${model}`;
    let b = buckets.get(id);
    if (!b) {
      b = { time, groupId, model, requests: 0, failures: 0, promptTokens: 0, completionTokens: 0 };
      buckets.set(id, b);
    }
    b.requests++;
    if (!r.success) b.failures++;
    b.promptTokens += r.promptTokens ?? 0;
    b.completionTokens += r.completionTokens ?? 0;
  };
  const perKey = new Map<number, { count: number; last: Date }>();
  for (const r of records) {
    const t = Date.parse(r.time);
    const hour = new Date(Math.floor(t / HOUR) * HOUR);
    add(hour, r.groupId, r);
    if (r.parentGroupId !== null) add(hour, r.parentGroupId, r);
    if (r.keyId === null || !r.success) continue;
    const k = perKey.get(r.keyId);
    if (!k) perKey.set(r.keyId, { count: 1, last: new Date(t) });
    else {
      k.count++;
      if (t > k.last.getTime()) k.last = new Date(t);
    }
  }
  return { buckets: [...buckets.values()], perKey };
}
