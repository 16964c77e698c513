import { describe, expect, it } from 'vitest';
import { markdownTable, rpsCell, rssCell } from './summary';

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
});
