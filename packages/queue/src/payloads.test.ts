import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { JOBS, JOB_NAMES, isJobName } from './names';
import type { RequestLogRecord } from '@keyway/contracts';
import { LOG_COLUMNS, logRowsOf } from '@keyway/contracts';
import { InvalidJobPayloadError, jobPayloadSchemas, parseJobPayload } from './payloads';

describe('job names', () => {
  it('have one payload schema each', () => {
    expect(Object.keys(jobPayloadSchemas).sort()).toEqual([...JOB_NAMES].sort());
    expect(Object.values(JOBS).sort()).toEqual([...JOB_NAMES].sort());
  });

  it('are recognised, and nothing else is', () => {
    expect(isJobName('key-recheck')).toBe(true);
    expect(isJobName('key_recheck')).toBe(false);
  });
});

describe('parseJobPayload', () => {
  it('drops fields it does not know, so producers of another version still get through', () => {
    expect(parseJobPayload('key-validate', { groupId: 1, status: 'all', requestedBy: 'admin' })).toEqual({
      groupId: 1,
      status: 'all',
    });
  });

  it('checks re-check settings against the setting limits', () => {
    expect(parseJobPayload('key-recheck', { settings: { keyValidationConcurrency: 5 } })).toEqual({
      settings: { keyValidationConcurrency: 5 },
    });
    expect(() => parseJobPayload('key-recheck', { settings: { keyValidationConcurrency: 0 } })).toThrow(
      InvalidJobPayloadError,
    );
  });

  it('reads request logs sent as rows into the records they are, and still takes whole records', () => {
    // Every field null that may be, then the ones that may not.
    const record = {
      ...Object.fromEntries(LOG_COLUMNS.map((c) => [c, null])),
      ...{ id: 'a', requestId: 'r', time: '2026-12-06T10:00:00.000Z', groupId: 1, groupName: 'g' },
      ...{ keyMasked: 'sk-ab…wxyz', statusCode: 200, success: true, durationMs: 12, stream: false },
      ...{ retries: 0, attempts: [] },
    } as unknown as RequestLogRecord;
    const sent = JSON.parse(
      JSON.stringify(logRowsOf([record, { ...record, id: 'b', keyId: null }])),
    ) as unknown;
    expect(parseJobPayload('request-logs', sent)).toEqual({
      records: [record, { ...record, id: 'b', keyId: null }],
    });
    expect(parseJobPayload('request-logs', { records: [record] })).toEqual({ records: [record] });
    // What a parse gives parses to itself (a trusted job is read once, an untrusted one may be read again).
    const read = parseJobPayload('request-logs', sent);
    expect(parseJobPayload('request-logs', read)).toEqual(read);
    expect(() => parseJobPayload('request-logs', { columns: ['id'], rows: [] })).toThrow(/request-logs/);
  });

  it("sends a typical request's log rows as one-byte JSON, masks and all, and reads the masks back", () => {
    // V8 keeps a string one-byte (Latin-1) or two-byte; its serializer tags them '"' and 'c'. A mask's `…` used to
    // make a whole job's text two-byte: twice the bytes, and past V8's largest regular object at a few hundred rows.
    const oneByte = (text: string): boolean => serialize(text)[2] === 0x22;
    const record = {
      ...Object.fromEntries(LOG_COLUMNS.map((c) => [c, null])),
      ...{ id: 'a', requestId: 'r', time: '2026-12-06T10:00:00.000Z', groupId: 1, groupName: 'g' },
      ...{ keyMasked: 'sk-ab…wxyz', proxyKeyMasked: 'team…ey-1', statusCode: 200, success: true },
      ...{ durationMs: 12, stream: false, retries: 0 },
      attempts: [
        {
          keyId: 1,
          key: 'sk-ab…wxyz',
          upstreamUrl: 'http://u',
          statusCode: 200,
          class: 'ok',
          durationMs: 3,
          error: null,
        },
      ],
    } as unknown as RequestLogRecord;
    expect(oneByte(JSON.stringify(record))).toBe(false);
    const text = JSON.stringify(logRowsOf([record, record]));
    expect(oneByte(text)).toBe(true);
    expect(parseJobPayload('request-logs', JSON.parse(text))).toEqual({ records: [record, record] });
  });

  it('refuses an empty batch of request logs or key events', () => {
    expect(() => parseJobPayload('request-logs', { records: [] })).toThrow(/request-logs/);
    expect(() => parseJobPayload('key-events', { changes: [] })).toThrow(/key-events/);
  });

  it('accepts a key state change with any known cause', () => {
    const change = {
      keyId: 1,
      groupId: 2,
      status: 'cooling',
      failureCount: 0,
      cooldownUntil: 1_700_000_000_000,
      lastError: '429 rate limited',
      cause: 'rate',
      at: 1_699_999_999_000,
    };
    expect(
      parseJobPayload('key-events', { changes: [change, { ...change, cause: 'validation' }] }).changes,
    ).toHaveLength(2);
    expect(() => parseJobPayload('key-events', { changes: [{ ...change, cause: 'whim' }] })).toThrow(
      InvalidJobPayloadError,
    );
  });
});
