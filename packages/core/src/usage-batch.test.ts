import type { RequestLogRecord } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import { UsageAccumulator } from './usage-batch';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 6, 10);

function record(over: Partial<RequestLogRecord>): RequestLogRecord {
  return {
    id: 'x',
    requestId: 'r',
    time: new Date(T0).toISOString(),
    groupId: 1,
    groupName: 'g',
    parentGroupId: null,
    parentGroupName: null,
    keyId: 7,
    keyMasked: null,
    proxyKeyMasked: null,
    model: 'm1',
    statusCode: 200,
    success: true,
    durationMs: 1,
    ttfbMs: null,
    stream: false,
    retries: 0,
    attempts: [],
    error: null,
    clientIp: null,
    requestPath: '/v1/chat/completions',
    promptTokens: 10,
    completionTokens: 5,
    cachedTokens: 0,
    costUsd: null,
    accessKeyId: null,
    accessKeyName: null,
    translatedFrom: null,
    requestBody: null,
    ...over,
  };
}

describe('UsageAccumulator', () => {
  it('sums each record into the bucket of its hour, group, access key and model, however records interleave', () => {
    const acc = new UsageAccumulator();
    const shapes: Partial<RequestLogRecord>[] = [
      {},
      {},
      { model: 'm2' },
      {},
      { groupId: 2 },
      { time: new Date(T0 + HOUR + 5).toISOString() },
      {},
      { accessKeyId: 3, costUsd: 0.5 },
      { model: 'm\u0000x' },
      { model: 'mx' },
      { model: null },
      { groupId: 2, parentGroupId: 1, success: false },
      {},
    ];
    for (const s of shapes) acc.add(record(s));
    const byId = Object.fromEntries(
      [...acc.seal('b').buckets].map((b) => [`${b.time}|${b.groupId}|${b.accessKeyId}|${b.model}`, b]),
    );
    const at = (t: number, g: number, a: number, m: string) =>
      byId[`${new Date(t).toISOString()}|${g}|${a}|${m}`]?.requests ?? 0;
    // Five plain records and the aggregate's own count of its member's request.
    expect(at(T0, 1, 0, 'm1')).toBe(6);
    expect(at(T0, 1, 0, 'm2')).toBe(1);
    expect(at(T0, 2, 0, 'm1')).toBe(2);
    expect(at(T0 + HOUR, 1, 0, 'm1')).toBe(1);
    expect(at(T0, 1, 3, 'm1')).toBe(1);
    // A NUL is dropped from the stored name: that record shares the bucket of the clean name.
    expect(at(T0, 1, 0, 'mx')).toBe(2);
    expect(at(T0, 1, 0, '')).toBe(1);
    // An aggregate's request counts in its member's bucket and in its own; the failure is counted.
    expect(byId[`${new Date(T0).toISOString()}|2|0|m1`]?.failures).toBe(1);
    expect(Object.values(byId).reduce((n, b) => n + b.requests, 0)).toBe(shapes.length + 1);
    expect(byId[`${new Date(T0).toISOString()}|1|3|m1`]?.costUsd).toBe(0.5);
  });
});
