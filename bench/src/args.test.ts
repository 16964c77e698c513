import { describe, expect, it } from 'vitest';
import { parseOptions } from './args';

describe('pnpm bench options', () => {
  it('measures every target by default: 3 rounds of 10 s at 64 connections with 2 wrk threads', () => {
    const o = parseOptions([]);
    expect(o?.targets).toEqual(['direct', 'bare', 'standalone', 'standalone-nolog', 'distributed']);
    expect(o).toMatchObject({
      rounds: 3,
      durationSec: 10,
      connections: 64,
      threads: 2,
      bareMode: 'response',
    });
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
    expect(parseOptions(['--quick'])).toMatchObject({ rounds: 1, durationSec: 3, quietWaitSec: 0 });
    expect(parseOptions(['--quick', '--rounds', '2'])?.rounds).toBe(2);
  });
});
