import { describe, expect, it } from 'vitest';
import type { Report } from './report';
import { markdownTable, pairedLines, pairedTag, rpsCell, rssCell } from './summary';

describe('the summary tables', () => {
  it('writes a markdown table with the first column left-aligned and the others right-aligned', () => {
    expect(
      markdownTable(
        ['target', 'req/s'],
        [
          ['bare', '9,000'],
          ['standalone', '12'],
        ],
      ),
    ).toEqual([
      '| target     | req/s |',
      '| ---------- | ----: |',
      '| bare       | 9,000 |',
      '| standalone |    12 |',
    ]);
  });

  it('gives the median req/s with the range of the rounds', () => {
    const load = { rps: 8_100 } as Parameters<typeof rpsCell>[0]['load'];
    expect(rpsCell({ load, roundsRps: [8_100, 9_000.4, 7_000] })).toBe('8,100 (7,000–9,000)');
    expect(rpsCell({ load, roundsRps: [8_100] })).toBe('8,100');
  });

  it('shows the RSS after the soak when there was one', () => {
    expect(rssCell({ memory: { rssAfterLoadMiB: 150, rssAfterSoakMiB: 161.4, peakRssMiB: 170 } })).toBe(
      '161 (soak)',
    );
    expect(rssCell({ memory: { rssAfterLoadMiB: 150, rssAfterSoakMiB: null, peakRssMiB: 170 } })).toBe('150');
    expect(rssCell({ memory: null })).toBe('–');
  });

  describe('the pairs with standalone', () => {
    const paired: Report['paired'] = {
      'standalone-accesskey': {
        pairs: 3,
        pairDurationSec: 4,
        rpsRatios: [0.97, 1.01, 0.99],
        cpuRatios: [1.02, null, 1.06],
        medianRpsRatio: 0.99,
        medianCpuRatio: 1.04,
      },
      'standalone-traced': {
        pairs: 3,
        pairDurationSec: 4,
        rpsRatios: [null, null, null],
        cpuRatios: [1.1, 1.2, 1.0],
        medianRpsRatio: null,
        medianCpuRatio: 1.1,
      },
    };
    const ratios = {} as NonNullable<Report['ratios']>;

    it('marks a goal figure as paired only when ratios are reported and the paired median is known', () => {
      expect(pairedTag({ paired, ratios }, 'standalone-accesskey', 'rps')).toBe(' (paired)');
      expect(pairedTag({ paired, ratios }, 'standalone-traced', 'cpu')).toBe(' (paired)');
      expect(pairedTag({ paired, ratios }, 'standalone-traced', 'rps')).toBe('');
      expect(pairedTag({ paired, ratios }, 'standalone-pool', 'rps')).toBe('');
      expect(pairedTag({ paired, ratios: null }, 'standalone-accesskey', 'rps')).toBe('');
      expect(pairedTag({ paired: null, ratios }, 'standalone-accesskey', 'rps')).toBe('');
    });

    it('lists each target’s median per-pair ratios with their range', () => {
      expect(pairedLines({ paired, ratios })).toEqual([
        'Paired with standalone (3 back-to-back pairs of 4 s, order alternating; median of the per-pair ratios, min–max):',
        '- standalone, access key with limits: req/s 0.990 (0.970–1.010), CPU/request 1.040 (1.020–1.060)',
        '- standalone, tracing on (OTLP): req/s n/a, CPU/request 1.100 (1.000–1.200)',
      ]);
      expect(pairedLines({ paired, ratios: null })[0]).toMatch(/, not used for the goals: ratios refused/);
      expect(pairedLines({ paired: null, ratios })).toEqual([]);
    });
  });
});
