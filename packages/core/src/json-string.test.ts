import { describe, expect, it } from 'vitest';
import { jsonString, needsJsonEscape } from './json-string';

describe('jsonString', () => {
  const cases = [
    '',
    'plain',
    'sk-ab…wxyz',
    'quote"',
    'back\\slash',
    'tab\t',
    'nul\u0000',
    '\u001f',
    'pair 😀',
    'lone\ud800',
  ];

  it('writes what JSON.stringify writes, and says when that is more than the string between quotes', () => {
    for (const s of cases) {
      expect(jsonString(s), JSON.stringify(s)).toBe(JSON.stringify(s));
      expect(needsJsonEscape(s), JSON.stringify(s)).toBe(
        JSON.stringify(s) !== `"${s}"` || /[\ud800-\udfff]/.test(s),
      );
    }
    expect(needsJsonEscape('plain')).toBe(false);
    expect(needsJsonEscape('lone\ud800')).toBe(true);
  });
});
