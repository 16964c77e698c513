import { describe, expect, it } from 'vitest';
import { LOG_COLUMNS, logRowsOf, logRowsSchema, toLogRow } from './log-rows';
import type { RequestLogRecord } from './logs';

function record(n: number, over: Partial<RequestLogRecord> = {}): RequestLogRecord {
  return {
    id: `01a24c06-d63a-7030-b180-6ccb8052${String(n).padStart(4, '0')}`,
    requestId: `req-${n}`,
    time: '2026-12-06T10:00:00.000Z',
    groupId: 1,
    groupName: 'group "one"\r\n',
    parentGroupId: 4,
    parentGroupName: 'agg',
    keyId: 3,
    keyMasked: 'sk-ab…wxyz',
    proxyKeyMasked: 'kw-pr…0001',
    model: 'gpt-4o-mini',
    statusCode: 429,
    success: false,
    durationMs: 12.5,
    ttfbMs: null,
    stream: true,
    retries: 1,
    attempts: [
      {
        keyId: 3,
        key: 'sk-ab…wxyz',
        upstreamUrl: 'https://api.example.com',
        statusCode: 429,
        class: 'rate',
        durationMs: 4,
        error: 'slow down 😀',
        model: 'gpt-4o-mini',
      },
    ],
    error: 'rate limited',
    clientIp: '::1',
    requestPath: '/v1/chat/completions?x=1',
    promptTokens: 10,
    completionTokens: 2,
    cachedTokens: 1,
    costUsd: 0.0000213,
    accessKeyId: 9,
    accessKeyName: 'team-a',
    translatedFrom: 'anthropic',
    requestBody: '{"a":1}',
    ...over,
  };
}

/** LogRows as a queue carries them: JSON text. */
const overTheWire = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('log rows', () => {
  it('carry every field of a record, in LOG_COLUMNS order, and read back to the same records', () => {
    const r = record(1);
    expect(toLogRow(r)).toEqual(LOG_COLUMNS.map((c) => r[c]));
    const records = [r, record(2, { keyId: null, attempts: [], translatedFrom: null })];
    expect(logRowsSchema.parse(overTheWire(logRowsOf(records)))).toEqual(records);
  });

  it('are read by column name: another order, or a column this reader does not know, is read right', () => {
    const r = record(3);
    const columns = [...LOG_COLUMNS].reverse();
    const rows = [
      [...columns.map((c) => r[c]), 'later'],
      [...columns.map((c) => r[c]), 'later'],
    ];
    const parsed = logRowsSchema.parse(overTheWire({ columns: [...columns, 'addedLater'], rows }));
    expect(parsed).toEqual([r, r]);
  });

  it('refuse a row of another length, a missing field, a wrong type, and odd column names', () => {
    const sent = overTheWire(logRowsOf([record(4)])) as { columns: string[]; rows: unknown[][] };
    const bad = (v: unknown) => logRowsSchema.safeParse(v).success;
    expect(bad({ ...sent, rows: [sent.rows[0]!.slice(1)] })).toBe(false);
    expect(bad({ columns: sent.columns.slice(1), rows: [sent.rows[0]!.slice(1)] })).toBe(false);
    expect(bad({ ...sent, rows: [sent.rows[0]!.map((v, i) => (i === 3 ? 'one' : v))] })).toBe(false);
    for (const name of ['__proto__', 'a b', '', 'x'.repeat(65), 'a\r\nb'])
      expect(bad({ columns: [...sent.columns, name], rows: [[...sent.rows[0]!, 1]] }), name).toBe(false);
    expect(bad({ columns: sent.columns, rows: [] })).toBe(false);
    expect(Object.getPrototypeOf(logRowsSchema.parse(sent)[0])).toBe(Object.prototype);
  });
});
