import { describe, expect, it } from 'vitest';
import { extractProxyKey, setCredential, withoutQueryCredentials } from './credential';
import type { HeaderMap } from './provider';
// The registry registers every built-in channel's credential slots.
import './registry';

describe('setCredential', () => {
  it('replaces every credential header, whatever its case, and keeps the rest', () => {
    const headers: HeaderMap = {
      Authorization: 'Bearer a',
      'x-api-key': 'b',
      'X-GOOG-API-KEY': 'c',
      accept: '*/*',
    };
    setCredential(headers, { name: 'x-goog-api-key' }, 'new');
    expect(headers).toEqual({ 'x-goog-api-key': 'new', accept: '*/*' });
  });
});

describe('withoutQueryCredentials', () => {
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
    expect(withoutQueryCredentials({ path: '/p', query }).query).toBe(expected);
  });

  it('returns the same target when there is nothing to drop', () => {
    const t = { path: '/p', query: 'alt=sse' };
    expect(withoutQueryCredentials(t)).toBe(t);
  });
});

describe('extractProxyKey', () => {
  it.each([
    [{ authorization: 'Bearer kw-a' }, 'alt=sse', 'kw-a', 'alt=sse'],
    [{ authorization: 'bearer  kw-a ' }, '', 'kw-a', ''],
    [{ 'x-api-key': 'kw-b' }, '', 'kw-b', ''],
    [{ 'x-goog-api-key': ['kw-c', 'x'] }, '', 'kw-c', ''],
    [{ authorization: 'Bearer kw-a' }, 'alt=sse&key=kw-q', 'kw-q', 'alt=sse'],
    [{ authorization: 'Basic abc' }, '', null, ''],
    [{}, 'key=', null, 'key='],
    [{ 'x-api-key': '' }, '', null, ''],
  ])('%j ?%s → %j', (headers, query, key, rest) => {
    expect(extractProxyKey(headers, query)).toEqual({ key, query: rest });
  });
});
