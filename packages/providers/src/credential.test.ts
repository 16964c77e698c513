import { describe, expect, it } from 'vitest';
import { setCredential, withoutQueryKey } from './credential';
import type { HeaderMap } from './provider';

describe('setCredential', () => {
  it('replaces every credential header, whatever its case, and keeps the rest', () => {
    const headers: HeaderMap = {
      Authorization: 'Bearer a',
      'x-api-key': 'b',
      'X-GOOG-API-KEY': 'c',
      accept: '*/*',
    };
    setCredential(headers, 'x-goog-api-key', 'new');
    expect(headers).toEqual({ 'x-goog-api-key': 'new', accept: '*/*' });
  });
});

describe('withoutQueryKey', () => {
  it.each([
    ['', ''],
    ['alt=sse', 'alt=sse'],
    ['key=a', ''],
    ['key=a&alt=sse&key=b', 'alt=sse'],
    ['%6Bey=a&alt=sse', 'alt=sse'],
    ['monkey=1&keys=2&api_key=3', 'monkey=1&keys=2&api_key=3'],
    ['alt=sse&key', 'alt=sse'],
    ['q=%E0%A4%A&key=a', 'q=%E0%A4%A'],
  ])('%j → %j', (query, expected) => {
    expect(withoutQueryKey({ path: '/p', query }).query).toBe(expected);
  });

  it('returns the same target when there is nothing to drop', () => {
    const t = { path: '/p', query: 'alt=sse' };
    expect(withoutQueryKey(t)).toBe(t);
  });
});
