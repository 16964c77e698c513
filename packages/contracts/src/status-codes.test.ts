import { describe, expect, it } from 'vitest';
import { parseStatusCodeSpec, statusMatcher } from './status-codes';

describe('parseStatusCodeSpec', () => {
  it.each([
    [
      '400-403,405-999',
      [
        [400, 403],
        [405, 999],
      ],
    ],
    ['429', [[429, 429]]],
    [
      '500, 502 ,503',
      [
        [500, 500],
        [502, 503],
      ],
    ],
    ['400 - 403', [[400, 403]]],
    [
      '500-599\n429\n\n401',
      [
        [401, 401],
        [429, 429],
        [500, 599],
      ],
    ],
    ['', []],
    [' , ,', []],
  ])('parses %j', (spec, ranges) => {
    expect(parseStatusCodeSpec(spec)).toEqual({ ok: true, ranges });
  });

  it('sorts and merges overlapping and adjacent ranges', () => {
    expect(parseStatusCodeSpec('500-599, 400-450, 451-499, 420-430, 600')).toEqual({
      ok: true,
      ranges: [[400, 600]],
    });
    expect(parseStatusCodeSpec('429,401,403-404,402')).toEqual({
      ok: true,
      ranges: [
        [401, 404],
        [429, 429],
      ],
    });
  });

  it.each([
    ['abc', '"abc" is not a status code or range'],
    ['40', '"40" is not a status code or range'],
    ['4000', '"4000" is not a status code or range'],
    ['400-', '"400-" is not a status code or range'],
    ['400-403-405', '"400-403-405" is not a status code or range'],
    ['4xx', '"4xx" is not a status code or range'],
    ['099', '"099" is out of 100-999'],
    ['500-400', '"500-400" is out of 100-999'],
  ])('refuses %j', (spec, error) => {
    expect(parseStatusCodeSpec(spec)).toEqual({ ok: false, error });
  });

  it('reports the first bad part of an otherwise valid spec', () => {
    expect(parseStatusCodeSpec('400-403, nope, 500')).toEqual({
      ok: false,
      error: '"nope" is not a status code or range',
    });
  });
});

describe('statusMatcher', () => {
  const spec = parseStatusCodeSpec('400-403,405-999');
  if (!spec.ok) throw new Error(spec.error);
  const matches = statusMatcher(spec.ranges);

  it.each([
    [400, true],
    [403, true],
    [404, false],
    [405, true],
    [999, true],
    [200, false],
    [399, false],
    [0, false],
    [-1, false],
    [1000, false],
  ])('%i → %s', (status, expected) => {
    expect(matches(status)).toBe(expected);
  });

  it('matches nothing for an empty spec', () => {
    const none = statusMatcher([]);
    expect([200, 400, 429, 500].some(none)).toBe(false);
  });
});
