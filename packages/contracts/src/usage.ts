import { z } from 'zod';

/**
 * What the data plane adds to the usage counters, whatever `requestLogging` says: hourly buckets per group,
 * model and access key, and the use of each upstream key and access key. A gateway aggregates finished requests
 * for a second or so and hands one batch to the writer (the log queue in distributed mode); the writer applies a
 * batch id once, so a retried job neither loses nor double-counts.
 */
export const usageBucketSchema = z.object({
  /** ISO start of the UTC hour. */
  time: z.string(),
  groupId: z.number().int(),
  model: z.string(),
  /** 0 = no access key (a bare proxy key). */
  accessKeyId: z.number().int(),
  requests: z.number().int(),
  failures: z.number().int(),
  promptTokens: z.number().int(),
  completionTokens: z.number().int(),
  cachedTokens: z.number().int(),
  costUsd: z.number(),
});
export type UsageBucket = z.infer<typeof usageBucketSchema>;

export const usageBatchSchema = z.object({
  /** Unique per batch (UUIDv7): the writer's idempotency key. */
  id: z.string().min(1).max(64),
  buckets: z.array(usageBucketSchema),
  /** Upstream keys: successful requests and the latest use (ISO). */
  keys: z.array(z.object({ id: z.number().int(), count: z.number().int(), last: z.string() })),
  /**
   * Access keys: what they add to their lifetime totals and the latest use (ISO). Not derived from the buckets:
   * an aggregate's request is in its member's bucket and its own.
   */
  accessKeys: z.array(
    z.object({
      id: z.number().int(),
      requests: z.number().int(),
      tokens: z.number().int(),
      costUsd: z.number(),
      last: z.string(),
    }),
  ),
});
export type UsageBatch = z.infer<typeof usageBatchSchema>;
