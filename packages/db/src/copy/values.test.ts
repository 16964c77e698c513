import { describe, expect, it } from 'vitest';
import { statementChunks } from './endpoint';
import { canonicalJson, decodeValue, parseStoredTime, sameRow, stripJsonNul } from './values';

describe('copy values', () => {
  it('reads every timestamp spelling a Keyway SQLite file may hold as the same UTC instant', () => {
    const ms = Date.UTC(2026, 11, 6, 1, 2, 3, 456);
    for (const stored of [
      '2026-12-06T01:02:03.456+00:00',
      '2026-12-06T01:02:03.456Z',
      '2026-12-06 01:02:03.456',
      '2026-12-06T03:02:03.456+02:00',
      ms,
      BigInt(ms),
    ])
      expect(parseStoredTime(stored).getTime(), String(stored)).toBe(ms);
    expect(() => parseStoredTime('yesterday')).toThrow(/unreadable timestamp/);
  });

  it('keeps SQL NULL apart from JSON null, and reads booleans from 0/1 and t/f', () => {
    expect(decodeValue('Json', null)).toBeNull();
    expect(decodeValue('Json', 'null')).toBe('null');
    expect(decodeValue('Json', { a: 1 })).toBe('{"a":1}');
    expect(decodeValue('Boolean', 0n)).toBe(false);
    expect(decodeValue('Boolean', 't')).toBe(true);
    expect(decodeValue('Int', 7n)).toBe(7);
  });

  it('compares JSON regardless of key order and strips NUL escapes', () => {
    expect(canonicalJson('{"b":1,"a":{"d":2,"c":3}}')).toBe('{"a":{"c":3,"d":2},"b":1}');
    const counter = { stripped: 0 };
    expect(stripJsonNul('{"a\\u0000":"x\\u0000"}', counter)).toBe('{"a":"x"}');
    expect(counter.stripped).toBe(1);
    const cols = [{ name: 'j', type: 'Json' as const }];
    expect(sameRow(cols, ['{"a":1,"b":2}'], ['{"b":2,"a":1}'])).toBe(true);
    expect(sameRow(cols, ['{"a":1}'], ['{"a":2}'])).toBe(false);
  });

  it('splits a page into statements under the placeholder and size limits', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => Array.from({ length: 30 }, () => `v${i}`));
    const chunks = statementChunks(rows, 30);
    expect(chunks.flat()).toHaveLength(2000);
    for (const c of chunks) expect(c.length * 30).toBeLessThanOrEqual(30_000);
    const big = Array.from({ length: 10 }, () => ['x'.repeat(1_000_000)]);
    expect(statementChunks(big, 1).length).toBeGreaterThan(1);
  });
});
