import { describe, expect, it } from 'vitest';
import { uuidv7 } from './uuid7';

const SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('is a version 7, variant 10 UUID carrying the time in its first 48 bits', () => {
    const at = Date.UTC(2026, 11, 5, 17, 30, 0, 123);
    const id = uuidv7(at);
    expect(id).toMatch(SHAPE);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
    // Every bit of the 48-bit time lands in its digit: the first and last millisecond it can hold, and one of each.
    for (const t of [0, 2 ** 48 - 1, 0x123456789abc, 0xfedcba987654, 0x00ff00ff00ff]) {
      const made = uuidv7(t);
      expect(made).toMatch(SHAPE);
      expect(made.slice(0, 8) + made.slice(9, 13)).toBe(t.toString(16).padStart(12, '0'));
    }
  });

  it('sorts by time, and ids of one millisecond differ', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => uuidv7(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 10; i < ids.length; i += 10) expect(ids[i - 10]! < ids[i]!).toBe(true);
    for (const id of ids) expect(id).toMatch(SHAPE);
  });

  it('stays well-formed past the random pool refill', () => {
    for (let i = 0; i < 1000; i++) expect(uuidv7()).toMatch(SHAPE);
  });
});
