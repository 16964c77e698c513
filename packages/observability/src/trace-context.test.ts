import { describe, expect, it } from 'vitest';
import { nanoString } from './otlp-encode';
import { epochMs, hexWord, parseTraceparent, parseTracestate, randomWord, wordAt } from './trace-context';

describe('parseTracestate', () => {
  it('keeps valid members, drops invalid ones (CR/LF, non-ASCII, bad keys, repeats), joins repeated headers', () => {
    expect(parseTracestate('congo=t61rcWkgMzE, rojo=00f067aa0ba902b7')).toBe(
      'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7',
    );
    expect(parseTracestate(['a=1', 'b=2'])).toBe('a=1,b=2');
    expect(parseTracestate('a=1\r\nx-evil: 1,b=2')).toBe('b=2');
    expect(parseTracestate('Upper=1,t@sys=ok,é=1,a=,a=2,c=d')).toBe('t@sys=ok,a=2,c=d');
    expect(
      parseTracestate(Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(',')).split(','),
    ).toHaveLength(32);
    expect(parseTracestate(`a=${'x'.repeat(255)},b=${'y'.repeat(255)},c=1`).length).toBeLessThanOrEqual(512);
    expect(parseTracestate(undefined)).toBe('');
  });
});

describe('parseTraceparent', () => {
  it('reads the first of repeated headers and the sampled flag', () => {
    const ctx = parseTraceparent([
      '00-0af7651916cd76f8a5a4d2e04aa1a1b1-b7ad6b7169203331-00',
      '00-11111111111111111111111111111111-2222222222222222-01',
    ]);
    expect(ctx).toEqual({
      traceId: '0af7651916cd76f8a5a4d2e04aa1a1b1',
      spanId: 'b7ad6b7169203331',
      traceFlags: 0,
      traceState: '',
    });
    expect(parseTraceparent('x'.repeat(100_000))).toBeNull();
  });
});

describe('ids and times', () => {
  it('draws distinct random words and writes them as eight lowercase hex digits, and back', () => {
    const words = Array.from({ length: 3000 }, () => randomWord());
    expect(new Set(words).size).toBeGreaterThan(2990);
    expect(words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)).toBe(true);
    expect(hexWord(0)).toBe('00000000');
    expect(hexWord(0xdeadbeef)).toBe('deadbeef');
    expect(wordAt('0af7651916cd76f8', 8)).toBe(0x16cd76f8);
  });

  it('writes epoch nanoseconds exactly', () => {
    // Epoch milliseconds as doubles resolve ~0.24 µs today: these are exact binary fractions.
    expect(nanoString(1_796_562_866_123.5)).toBe('1796562866123500000');
    expect(nanoString(1_796_562_866_123.25)).toBe('1796562866123250000');
    expect(nanoString(1_000.000_001)).toBe('1000000001');
    expect(Math.abs(epochMs() - Date.now())).toBeLessThan(50);
  });
});
