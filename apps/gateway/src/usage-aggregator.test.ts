import type { RequestLogRecord, UsageBatch } from '@keyway/contracts';
import { defaultSettings } from '@keyway/contracts';
import { UsageAccumulator } from '@keyway/core';
import { describe, expect, it, vi } from 'vitest';
import type { GatewayDeps } from './app';
import { createRecordHandler } from './record-sinks';
import type { GatewayRuntime } from './runtime';
import { record } from './testing/records';
import { createUsageAggregator } from './usage-aggregator';

const HOUR_7 = '2026-11-26T07:00:00.000Z';

/** An aggregator whose writes land in `batches` (or fail while `failing` is set). */
function aggregator() {
  const batches: UsageBatch[] = [];
  const state = { failing: false, attempts: 0 };
  const sink = createUsageAggregator({
    intervalMs: 10_000,
    write: (batch) => {
      state.attempts++;
      if (state.failing) return Promise.reject(new Error('database away'));
      batches.push(structuredClone(batch));
      return Promise.resolve();
    },
  });
  return { sink, batches, state };
}

describe('createUsageAggregator', () => {
  it('adds records up per hour, group, model and access key, and per upstream and access key', async () => {
    const { sink, batches } = aggregator();
    sink.push(record(1));
    sink.push(record(2, { success: false, statusCode: 502, keyId: 11, promptTokens: null, costUsd: null }));
    sink.push(record(3, { accessKeyId: 5, accessKeyName: 'team-a' }));
    sink.push(record(4, { accessKeyId: 5, time: '2026-11-26T08:00:01.000Z', keyId: 12 }));
    await sink.flush();

    expect(batches).toHaveLength(1);
    const [batch] = batches as [UsageBatch];
    expect(batch.id).toMatch(/^[0-9a-f-]{36}$/);
    const rows = batch.buckets.map((b) => [b.time, b.accessKeyId, b.requests, b.failures, b.promptTokens]);
    expect(rows).toEqual([
      [HOUR_7, 0, 2, 1, 100],
      [HOUR_7, 5, 1, 0, 100],
      ['2026-11-26T08:00:00.000Z', 5, 1, 0, 100],
    ]);
    expect(batch.buckets[0]).toMatchObject({ completionTokens: 40, cachedTokens: 80, costUsd: 0.25 });
    // Only successful requests count for an upstream key; the latest use wins.
    expect(batch.keys).toEqual([
      { id: 11, count: 2, last: '2026-11-26T07:13:00.000Z' },
      { id: 12, count: 1, last: '2026-11-26T08:00:01.000Z' },
    ]);
    expect(batch.accessKeys).toEqual([
      { id: 5, requests: 2, tokens: 240, costUsd: 0.5, last: '2026-11-26T08:00:01.000Z' },
    ]);
  });

  it('counts an aggregate’s request in its member’s bucket and its own, and once in the access key', async () => {
    const { sink, batches } = aggregator();
    sink.push(record(1, { groupId: 2, parentGroupId: 9, parentGroupName: 'agg', accessKeyId: 5 }));
    await sink.flush();
    const [batch] = batches as [UsageBatch];
    expect(batch.buckets.map((b) => [b.groupId, b.requests])).toEqual([
      [2, 1],
      [9, 1],
    ]);
    expect(batch.accessKeys).toEqual([expect.objectContaining({ id: 5, requests: 1, tokens: 120 })]);
  });

  it('keeps a batch whose write failed and retries it under the same id, so the writer counts it once', async () => {
    const { sink, batches, state } = aggregator();
    state.failing = true;
    sink.push(record(1));
    await sink.flush();
    expect(batches).toHaveLength(0);
    expect(sink.pending()).toBe(1);
    const firstTry = state.attempts;

    sink.push(record(2));
    state.failing = false;
    await sink.flush();
    expect(state.attempts).toBeGreaterThan(firstTry);
    expect(batches).toHaveLength(2);
    // The failed batch first, still holding only its own record; the later record in a batch of its own.
    expect(batches.map((b) => b.buckets[0]?.requests)).toEqual([1, 1]);
    expect(new Set(batches.map((b) => b.id)).size).toBe(2);
    expect(sink.pending()).toBe(0);
  });

  it('stores a hostile model name and absurd token counts in a form every database accepts', async () => {
    const { sink, batches } = aggregator();
    sink.push(record(1, { model: `gpt\u0000-${'x'.repeat(400)}`, promptTokens: 1e15, completionTokens: -5 }));
    await sink.flush();
    const [bucket] = (batches[0] as UsageBatch).buckets;
    expect(bucket?.model).toBe(`gpt-${'x'.repeat(251)}`);
    expect(bucket).toMatchObject({ promptTokens: 100_000_000, completionTokens: 0 });
  });

  it('gathers the counts of many upstream keys for a while, then writes them sorted, a few keys to a batch', async () => {
    vi.useFakeTimers();
    try {
      const batches: UsageBatch[] = [];
      const sink = createUsageAggregator({
        intervalMs: 1000,
        keysEveryBatch: 2,
        keysGatherMs: 5000,
        keysPerBatch: 2,
        write: (batch) => {
          batches.push(structuredClone(batch));
          return Promise.resolve();
        },
      });
      const second = async (keyIds: number[]) => {
        for (const keyId of keyIds) sink.push(record(1, { keyId }));
        await vi.advanceTimersByTimeAsync(1000);
      };
      // Two keys a second: their counts go with each second's batch, as for any small pool.
      await second([7, 8]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(batches.map((b) => b.keys.map((k) => k.id))).toEqual([[7, 8]]);
      batches.length = 0;

      // Three keys in a second: gathered from now on; the hourly stats still go every second.
      await second([9, 3, 5]);
      await second([3, 4]);
      await second([3]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(batches.map((b) => [b.buckets[0]?.requests, b.keys.length])).toEqual([
        [3, 0],
        [2, 0],
        [1, 0],
      ]);
      batches.length = 0;

      // The gathering's time is up without more traffic: every key, summed, by id, two to a batch.
      await vi.advanceTimersByTimeAsync(2000);
      expect(batches.map((b) => [b.buckets.length, b.keys.map((k) => [k.id, k.count])])).toEqual([
        [
          0,
          [
            [3, 3],
            [4, 1],
          ],
        ],
        [
          0,
          [
            [5, 1],
            [9, 1],
          ],
        ],
      ]);
      expect(new Set(batches.map((b) => b.id)).size).toBe(2);
      batches.length = 0;

      // Back to a small pool's pace: with each batch again. A flush (shutdown) writes what is gathered at once.
      await second([7]);
      await vi.advanceTimersByTimeAsync(1000);
      expect(batches.map((b) => b.keys.map((k) => k.id))).toEqual([[7]]);
      await second([1, 2, 3]);
      await sink.flush();
      expect(batches.flatMap((b) => b.keys.map((k) => k.id))).toEqual([7, 1, 2, 3]);
      expect(sink.pending()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes nothing when nothing happened', async () => {
    const { sink, state } = aggregator();
    await sink.flush();
    expect(state.attempts).toBe(0);
  });
});

describe('UsageAccumulator', () => {
  it('sums each record into the bucket of its hour, group, access key and model, however records interleave', () => {
    const acc = new UsageAccumulator();
    const later = '2026-11-26T08:00:05.000Z';
    const shapes: Partial<RequestLogRecord>[] = [
      {},
      {},
      { model: 'm2' },
      {},
      { groupId: 2 },
      { time: later },
      {},
      { accessKeyId: 3, costUsd: 0.5 },
      { model: 'm\u0000x' },
      { model: 'mx' },
      { model: null },
      { groupId: 2, parentGroupId: 1, success: false },
      {},
    ];
    shapes.forEach((over, n) => acc.add(record(n, { model: 'm1', costUsd: null, ...over })));
    const byId = Object.fromEntries(
      acc.seal('b').buckets.map((b) => [`${b.time}|${b.groupId}|${b.accessKeyId}|${b.model}`, b]),
    );
    const at = (hour: string, g: number, a: number, m: string) => byId[`${hour}|${g}|${a}|${m}`];
    // Five plain records and the aggregate's own count of its member's request.
    expect(at(HOUR_7, 1, 0, 'm1')?.requests).toBe(6);
    expect(at(HOUR_7, 1, 0, 'm2')?.requests).toBe(1);
    expect(at(HOUR_7, 2, 0, 'm1')).toMatchObject({ requests: 2, failures: 1 });
    expect(at('2026-11-26T08:00:00.000Z', 1, 0, 'm1')?.requests).toBe(1);
    expect(at(HOUR_7, 1, 3, 'm1')).toMatchObject({ requests: 1, costUsd: 0.5 });
    // A NUL is dropped from the stored name: that record shares the bucket of the clean name.
    expect(at(HOUR_7, 1, 0, 'mx')?.requests).toBe(2);
    expect(at(HOUR_7, 1, 0, '')?.requests).toBe(1);
    expect(Object.values(byId).reduce((n, b) => n + b.requests, 0)).toBe(shapes.length + 1);
  });
});

describe('the record handler', () => {
  function deps(requestLogging: 'all' | 'errors' | 'off') {
    const logged: RequestLogRecord[] = [];
    const { sink, batches } = aggregator();
    const runtime = {
      settings: { ...defaultSettings, requestLogging },
      groupsById: new Map([[1, { modelRedirects: { 'gpt-4o-mini': 'gpt-4o' } }]]),
      accessKeys: new Map(),
      prices: new Map([
        ['gpt-4o', { model: 'gpt-4o', inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 }],
      ]),
    } as unknown as GatewayRuntime;
    const d = {
      runtime: () => runtime,
      logSink: { push: (r: RequestLogRecord) => logged.push(r), flush: () => Promise.resolve() },
      usageSink: sink,
      counters: { record: () => undefined },
    } as unknown as GatewayDeps;
    return { handle: createRecordHandler(d), logged, sink, batches };
  }

  it('records usage with requestLogging off: the dashboard and budgets do not depend on the log', async () => {
    const { handle, logged, sink, batches } = deps('off');
    handle(record(1, { costUsd: null }));
    handle(
      record(2, {
        costUsd: null,
        success: false,
        statusCode: 429,
        promptTokens: null,
        completionTokens: null,
      }),
    );
    await sink.flush();
    expect(logged).toHaveLength(0);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.buckets).toEqual([
      expect.objectContaining({ requests: 2, failures: 1, promptTokens: 100, completionTokens: 20 }),
    ]);
  });

  it('prices a record from the model that served (after the group’s redirect), null without usage', () => {
    const { handle, logged } = deps('all');
    const priced = record(1, { costUsd: null });
    const unreported = record(2, { costUsd: null, promptTokens: null, completionTokens: null });
    handle(priced);
    handle(unreported);
    // gpt-4o-mini is redirected to gpt-4o: (100 − 40) × 2.5 + 40 × 1.25 + 20 × 10, per million.
    expect(priced.costUsd).toBeCloseTo((60 * 2.5 + 40 * 1.25 + 20 * 10) / 1e6, 15);
    expect(unreported.costUsd).toBeNull();
    expect(logged).toHaveLength(2);
  });
});
