import { describe, expect, it } from 'vitest';
import { nanoString } from './otlp-encode';
import {
  epochMs,
  formatTraceparent,
  hexWord,
  parseTraceparent,
  parseTracestate,
  randomWord,
  traceparentOf,
  wordAt,
} from './trace-context';
import type { SpanContext } from './trace-context';

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

  // What the hand-written reader replaced: the specification's grammar as a regular expression.
  const GRAMMAR = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
  function byGrammar(value: string): SpanContext | null {
    if (value.length > 512) return null;
    const m = GRAMMAR.exec(value.trim());
    if (!m) return null;
    const [, version, traceId, spanId, flags, rest] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string?,
    ];
    if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
    if (traceId === '0'.repeat(32) || spanId === '0'.repeat(16)) return null;
    return { traceId, spanId, traceFlags: parseInt(flags, 16), traceState: '' };
  }

  it('reads exactly what the W3C grammar accepts', () => {
    const good = '00-0af7651916cd76f8a5a4d2e04aa1a1b1-b7ad6b7169203331-01';
    const cases = [
      good,
      good.replace(/01$/, '00'),
      good.replace(/01$/, 'ff'),
      `  ${good}\t`,
      `\u00a0${good}\ufeff`,
      `\n${good}\r\n`,
      good.toUpperCase(),
      good.replace('0af7', '0AF7'),
      good.replace('b7ad', 'g7ad'),
      good.replace('-01', '-1'),
      good.replace(/^00/, 'ff'),
      good.replace(/^00/, '0g'),
      good.replace(/^00/, '01'),
      `${good}-`,
      `${good}x`,
      `01${good.slice(2)}-what-comes-next`,
      `01${good.slice(2)}-`,
      `01${good.slice(2)}x`,
      `01${good.slice(2)}-a\nb`,
      `01${good.slice(2)}-a\u2028b`,
      `01${good.slice(2)}-é`,
      `01${good.slice(2)}-${'x'.repeat(456)}`,
      `01${good.slice(2)}-${'x'.repeat(457)}`,
      `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
      `00-0af7651916cd76f8a5a4d2e04aa1a1b1-${'0'.repeat(16)}-01`,
      `00-00000000000000000000000000000001-0000000000000001-01`,
      `00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-03`,
      good.slice(0, 54),
      good.replace(/-/g, '_'),
      good.replace('é', 'e').slice(0, 20) + 'é'.repeat(35),
      '',
      ' ',
    ];
    for (const value of cases)
      expect(parseTraceparent(value), JSON.stringify(value)).toEqual(byGrammar(value));
    for (let i = 0; i < 2000; i++) {
      // Random ids, some with a character swapped for a non-hex one.
      const hex = Array.from({ length: 6 }, () => hexWord(randomWord())).join('');
      let value = `0${i % 3}-${hex.slice(0, 32)}-${hex.slice(32, 48)}-0${i % 2}`;
      if (i % 5 === 0) value = value.slice(0, i % 55) + 'xZ-é'[i % 4] + value.slice((i % 55) + 1);
      expect(parseTraceparent(value), value).toEqual(byGrammar(value));
    }
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
    for (const w of words.slice(0, 100)) expect(hexWord(w)).toBe(w.toString(16).padStart(8, '0'));
  });

  it('writes a traceparent from words as formatTraceparent writes it from hex', () => {
    for (let i = 0; i < 200; i++) {
      const w = Array.from({ length: 6 }, (_, j) => (i === 0 ? [0, 1, 0xffffffff][j % 3] : randomWord())) as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const context: SpanContext = {
        traceId: w.slice(0, 4).map(hexWord).join(''),
        spanId: w.slice(4).map(hexWord).join(''),
        traceFlags: i % 2,
        traceState: '',
      };
      const [t0, t1, t2, t3, s0, s1] = w;
      expect(traceparentOf({ t0, t1, t2, t3, s0, s1 }, i % 2 === 1)).toBe(formatTraceparent(context));
    }
  });

  it('writes epoch nanoseconds exactly', () => {
    // Epoch milliseconds as doubles resolve ~0.24 µs today: these are exact binary fractions.
    expect(nanoString(1_796_562_866_123.5)).toBe('1796562866123500000');
    expect(nanoString(1_796_562_866_123.25)).toBe('1796562866123250000');
    expect(nanoString(1_000.000_001)).toBe('1000000001');
    expect(Math.abs(epochMs() - Date.now())).toBeLessThan(50);
  });
});
