import { describe, expect, it } from 'vitest';
import { isoTime } from './iso-time';

describe('isoTime', () => {
  it('formats like Date#toISOString across seconds, days, years and odd inputs', () => {
    const samples = [
      0, 1, 999, 1000, 1001, 59_999, 86_399_999, 86_400_000, 951_782_400_000, 1_764_979_199_999,
      1_764_979_200_000, 1_796_515_200_123, 253_402_300_799_999, 253_402_300_800_000, 8.64e15, 1.9,
      1_764_979_200_000.75, -1, -86_400_001,
    ];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor(Math.random() * 4_102_444_800_000));
    // Runs of one second in a row reuse the cached prefix; jumping back re-formats it.
    for (let t = 1_764_979_199_990; t < 1_764_979_200_010; t++) samples.push(t, t - 5000);
    for (const ms of samples) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });

  it('throws as toISOString does for an invalid time', () => {
    for (const bad of [Number.NaN, Infinity, -Infinity, 8.64e15 + 1])
      expect(() => isoTime(bad)).toThrow(RangeError);
  });
});
