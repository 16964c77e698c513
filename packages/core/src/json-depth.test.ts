import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, jsonNestingExceeds } from './json-depth';

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('JSON nesting depth', () => {
  it('accepts bodies nested up to the limit and refuses one level more', () => {
    expect(jsonNestingExceeds(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonNestingExceeds(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonNestingExceeds(`${'['.repeat(2500)}${']'.repeat(2500)}`)).toBe(true);
    // Objects and arrays both count, together.
    const mixed = (arrays: number, objects: number) =>
      `${'['.repeat(arrays)}${'{"a":'.repeat(objects)}1${'}'.repeat(objects)}${']'.repeat(arrays)}`;
    expect(jsonNestingExceeds(mixed(40, MAX_JSON_DEPTH - 40))).toBe(false);
    expect(jsonNestingExceeds(mixed(40, MAX_JSON_DEPTH - 39))).toBe(true);
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: '{'.repeat(200), b: '\\"[[[['.repeat(100), c: [[1]] });
    expect(jsonNestingExceeds(text)).toBe(false);
    expect(jsonNestingExceeds(JSON.stringify({ s: `"${'['.repeat(100)}` }))).toBe(false);
  });

  it('handles escapes at the end of strings and unterminated input without throwing', () => {
    expect(jsonNestingExceeds(JSON.stringify({ a: 'x\\', b: [[['\\"']]] }))).toBe(false);
    expect(jsonNestingExceeds('{"a":"\\')).toBe(false);
    expect(jsonNestingExceeds(`"${'['.repeat(100)}`)).toBe(false);
    expect(jsonNestingExceeds(`[${'\\"'.repeat(1000)}`)).toBe(false);
  });

  it('counts depth, not the number of siblings', () => {
    const wide = JSON.stringify({ items: Array.from({ length: 10_000 }, (_, i) => ({ i })) });
    expect(jsonNestingExceeds(wide)).toBe(false);
  });
});
