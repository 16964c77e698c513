import { describe, expect, it } from 'vitest';
import { parseOptions } from './args';

describe('pnpm bench options', () => {
  it('measures every target by default: 3 rounds of 10 s at 64 connections with 2 wrk threads, a 30 s soak', () => {
    const o = parseOptions([]);
    expect(o?.targets).toEqual([
      'direct',
      'bare',
      'standalone',
      'standalone-nolog',
      'distributed',
      'standalone-100k',
      'standalone-200groups',
      'standalone-accesskey',
      'standalone-pool',
      'standalone-translated',
      'standalone-traced',
    ]);
    expect(o).toMatchObject({
      rounds: 3,
      durationSec: 10,
      connections: 64,
      threads: 2,
      bareMode: 'response',
      soakSec: 30,
      pairs: 6,
      pairDurationSec: 4,
    });
  });

  it('measures standalone too when a scale target is asked for, since it is compared with it', () => {
    expect(parseOptions(['--targets', 'standalone-200groups'])?.targets).toEqual([
      'direct',
      'bare',
      'standalone',
      'standalone-200groups',
    ]);
  });

  it('takes the soak seconds, 0 skipping the soak', () => {
    expect(parseOptions(['--soak', '45'])?.soakSec).toBe(45);
    expect(parseOptions(['--soak', '0'])?.soakSec).toBe(0);
    expect(() => parseOptions(['--soak', '-1'])).toThrow(/--soak/);
  });

  it('always measures direct and bare, whatever --targets lists', () => {
    expect(parseOptions(['--', '--targets', 'distributed,standalone'])?.targets).toEqual([
      'direct',
      'bare',
      'standalone',
      'distributed',
    ]);
  });

  it('rejects an unknown target or a non-numeric duration', () => {
    expect(() => parseOptions(['--targets', 'portkey'])).toThrow(/unknown portkey/);
    expect(() => parseOptions(['--duration', 'ten'])).toThrow(/--duration/);
  });

  it('makes a quick run of one short round', () => {
    expect(parseOptions(['--quick'])).toMatchObject({
      rounds: 1,
      durationSec: 3,
      quietWaitSec: 0,
      soakSec: 0,
      pairs: 2,
      pairDurationSec: 2,
    });
    expect(parseOptions(['--quick', '--rounds', '2'])?.rounds).toBe(2);
    expect(parseOptions(['--quick', '--pairs', '7', '--pair-duration', '3'])).toMatchObject({
      pairs: 7,
      pairDurationSec: 3,
    });
  });

  it('takes the pairs and their seconds, 0 pairs skipping the paired phase', () => {
    expect(parseOptions(['--pairs', '9', '--pair-duration', '6'])).toMatchObject({
      pairs: 9,
      pairDurationSec: 6,
    });
    expect(parseOptions(['--pairs', '0'])?.pairs).toBe(0);
    expect(() => parseOptions(['--pairs', '-1'])).toThrow(/--pairs/);
    expect(() => parseOptions(['--pairs', 'some'])).toThrow(/--pairs/);
    expect(() => parseOptions(['--pair-duration', '0'])).toThrow(/--pair-duration/);
    expect(() => parseOptions(['--pair-duration', 'x'])).toThrow(/--pair-duration/);
  });
});
