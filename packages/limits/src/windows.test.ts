import { describe, expect, it } from 'vitest';
import { periodBounds, recordedAmount, ruleKey } from './windows';

const iso = (t: number): string => new Date(t).toISOString();
const at = (s: string): number => Date.parse(s);

describe('periodBounds', () => {
  it('starts a UTC day at 00:00 UTC and ends it 24 h later', () => {
    const b = periodBounds('day', at('2026-12-05T23:59:59.999Z'));
    expect(iso(b.start)).toBe('2026-12-05T00:00:00.000Z');
    expect(iso(b.end)).toBe('2026-12-06T00:00:00.000Z');
    expect(iso(periodBounds('day', at('2026-12-06T00:00:00.000Z')).start)).toBe('2026-12-06T00:00:00.000Z');
  });

  it('ends a month on the 1st of the next, across December → January and February', () => {
    const dec = periodBounds('month', at('2026-12-31T23:59:59.999Z'));
    expect(iso(dec.start)).toBe('2026-12-01T00:00:00.000Z');
    expect(iso(dec.end)).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(periodBounds('month', at('2027-01-01T00:00:00.000Z')).start)).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(periodBounds('month', at('2027-02-28T12:00:00Z')).end)).toBe('2027-03-01T00:00:00.000Z');
    expect(iso(periodBounds('month', at('2028-02-29T12:00:00Z')).end)).toBe('2028-03-01T00:00:00.000Z');
  });

  it('starts a Pacific day at local midnight, in winter and summer time', () => {
    const winter = periodBounds('day', at('2026-12-05T10:00:00Z'), 'America/Los_Angeles');
    expect(iso(winter.start)).toBe('2026-12-05T08:00:00.000Z');
    expect(iso(winter.end)).toBe('2026-12-06T08:00:00.000Z');
    // 06:00 UTC on 5 July is still 4 July in California (PDT, UTC−7).
    const summer = periodBounds('day', at('2026-07-05T06:00:00Z'), 'America/Los_Angeles');
    expect(iso(summer.start)).toBe('2026-07-04T07:00:00.000Z');
    expect(iso(summer.end)).toBe('2026-07-05T07:00:00.000Z');
  });

  it('gives the Pacific days of the DST changes 23 and 25 hours', () => {
    // 2026-03-08: clocks jump 02:00 → 03:00 PST→PDT; 2026-11-01: 02:00 → 01:00 PDT→PST.
    const spring = periodBounds('day', at('2026-03-08T20:00:00Z'), 'America/Los_Angeles');
    expect(iso(spring.start)).toBe('2026-03-08T08:00:00.000Z');
    expect(iso(spring.end)).toBe('2026-03-09T07:00:00.000Z');
    const fall = periodBounds('day', at('2026-11-01T12:00:00Z'), 'America/Los_Angeles');
    expect(iso(fall.start)).toBe('2026-11-01T07:00:00.000Z');
    expect(iso(fall.end)).toBe('2026-11-02T08:00:00.000Z');
    // One millisecond before local midnight belongs to the old day.
    expect(periodBounds('day', fall.end - 1, 'America/Los_Angeles').start).toBe(fall.start);
    expect(periodBounds('day', fall.end, 'America/Los_Angeles').start).toBe(fall.end);
  });

  it('counts a day in UTC when the zone is unknown instead of throwing', () => {
    const b = periodBounds('day', at('2026-12-05T10:00:00Z'), 'Mars/Olympus_Mons');
    expect(iso(b.start)).toBe('2026-12-05T00:00:00.000Z');
  });

  it('spans everything for a total', () => {
    expect(periodBounds('total', at('2026-12-05T10:00:00Z'))).toEqual({ start: 0, end: Infinity });
  });
});

describe('ruleKey and recordedAmount', () => {
  it('names a zoned day rule apart from the UTC one', () => {
    expect(ruleKey({ name: 'rpd', measure: 'requests', window: 'day', limit: 5 })).toBe('rpd');
    expect(
      ruleKey({ name: 'rpd', measure: 'requests', window: 'day', limit: 5, timeZone: 'America/Los_Angeles' }),
    ).toBe('rpd@America/Los_Angeles');
  });

  it('adds nothing for a negative or non-finite figure from an upstream', () => {
    const tpm = { name: 'tpm', measure: 'tokens', window: 'minute', limit: 10 } as const;
    expect(recordedAmount(tpm, { tokens: -500, costUsd: 0 })).toBe(0);
    expect(recordedAmount(tpm, { tokens: Number.NaN, costUsd: 0 })).toBe(0);
    expect(recordedAmount(tpm, { tokens: Infinity, costUsd: 0 })).toBe(0);
    expect(recordedAmount(tpm, { tokens: 42, costUsd: 1 })).toBe(42);
  });
});
