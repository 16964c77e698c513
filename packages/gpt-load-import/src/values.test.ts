import { describe, expect, it } from 'vitest';
import { parseGptLoadTime, toBool, toJson, toNumber } from './values';

describe('GPT-Load column values', () => {
  it('parses go-sqlite datetime text with nanoseconds and an offset (cut to ms)', () => {
    expect(parseGptLoadTime('2025-06-01 18:02:11.137499049+08:00')?.toISOString()).toBe(
      '2025-06-01T10:02:11.137Z',
    );
    expect(parseGptLoadTime('2025-06-01 18:02:11+08:00')?.toISOString()).toBe('2025-06-01T10:02:11.000Z');
    expect(parseGptLoadTime('2025-06-01 05:02:11.5-05:00')?.toISOString()).toBe('2025-06-01T10:02:11.500Z');
    expect(parseGptLoadTime('2025-06-01T10:02:11Z')?.toISOString()).toBe('2025-06-01T10:02:11.000Z');
  });

  it('reads naive MySQL DATETIME text in the given zone, UTC by default', () => {
    expect(parseGptLoadTime('2025-06-01 18:02:11.137')?.toISOString()).toBe('2025-06-01T18:02:11.137Z');
    expect(parseGptLoadTime('2025-06-01 18:02:11.137', 'Asia/Shanghai')?.toISOString()).toBe(
      '2025-06-01T10:02:11.137Z',
    );
    // Across a DST change: 2025-03-30 03:30 in Berlin is CEST (+02:00), 01:30 is CET (+01:00).
    expect(parseGptLoadTime('2025-03-30 03:30:00', 'Europe/Berlin')?.toISOString()).toBe(
      '2025-03-30T01:30:00.000Z',
    );
    expect(parseGptLoadTime('2025-03-30 01:30:00', 'Europe/Berlin')?.toISOString()).toBe(
      '2025-03-30T00:30:00.000Z',
    );
  });

  it('treats NULL, empty text and Go zero time as no date', () => {
    expect(parseGptLoadTime(null)).toBeNull();
    expect(parseGptLoadTime('')).toBeNull();
    expect(parseGptLoadTime('0001-01-01 00:00:00+00:00')).toBeNull();
  });

  it('reads booleans, numbers and JSON however the driver returns them', () => {
    expect([1, 0, '1', 'true', true, false, null, 1n].map(toBool)).toEqual([
      true,
      false,
      true,
      true,
      true,
      false,
      false,
      true,
    ]);
    expect([7, 7n, '7', null, 'x'].map((v) => toNumber(v))).toEqual([7, 7, 7, 0, 0]);
    expect(toJson('{"a":1}')).toEqual({ a: 1 });
    expect(toJson({ a: 1 })).toEqual({ a: 1 });
    expect(toJson('null')).toBeNull();
    expect(toJson('')).toBeUndefined();
    expect(() => toJson('{oops')).toThrow();
  });
});
