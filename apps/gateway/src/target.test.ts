import { describe, expect, it } from 'vitest';
import { parseProxyTarget } from './target';

const HOST = '127.0.0.1:3001';
const parse = (raw: string, host: string | undefined = HOST) => parseProxyTarget(raw, host);

describe('parseProxyTarget', () => {
  it('decodes the group segment and keeps the rest byte for byte', () => {
    expect(parse('/proxy/%6bqf7tbo/v1/chat/completions')).toEqual({
      group: 'kqf7tbo',
      path: '/v1/chat/completions',
      query: '',
      invalid: null,
    });
    expect(parse('/proxy/g/v1beta/models/gemini%2Dpro:generateContent?alt=sse&x=%20y')).toEqual({
      group: 'g',
      path: '/v1beta/models/gemini%2Dpro:generateContent',
      query: 'alt=sse&x=%20y',
      invalid: null,
    });
  });

  it('gives "/" as the path of a bare group target, with or without a query', () => {
    expect(parse('/proxy/g')).toMatchObject({ group: 'g', path: '/', query: '', invalid: null });
    expect(parse('/proxy/g?key=abc')).toMatchObject({
      group: 'g',
      path: '/',
      query: 'key=abc',
      invalid: null,
    });
  });

  it('accepts an absolute-form target that names this gateway, whatever the case', () => {
    expect(parse('http://127.0.0.1:3001/proxy/oa/v1/models')).toMatchObject({
      group: 'oa',
      path: '/v1/models',
      invalid: null,
    });
    expect(parse('HTTP://GW.example:80/proxy/oa/v1/models', 'gw.example:80')).toMatchObject({
      invalid: null,
    });
  });

  it('refuses an absolute-form target naming another host (an open forward proxy otherwise)', () => {
    expect(parse('http://evil.example/proxy/oa/v1/models')?.invalid).toMatch(/does not name this gateway/);
    expect(parseProxyTarget('http://127.0.0.1:3001/proxy/oa/v1/models', undefined)?.invalid).toMatch(
      /this gateway/,
    );
  });

  it.each([
    ['/proxy/g/v1/../admin', "'..'"],
    ['/proxy/g/v1/./models', "'.'"],
    ['/proxy/g/..', "'..'"],
    ['/proxy/g/v1/%2e%2e/x', "'..'"],
    ['/proxy/g/v1/.%2E/x', "'..'"],
    ['/proxy/g/v1/..%2fx', "'..'"],
    ['/proxy/g/v1/%2e', "'.'"],
    ['/proxy/g/v1/chat%00', 'control character'],
    ['/proxy/g/v1/a%0d%0aX-Injected:%201', 'control character'],
    ['/proxy/g/v1\\x', 'backslash'],
    ['/proxy/g/v1/%5c..', 'backslash'],
    ['/proxy/g/v1/%zz', 'malformed'],
    ['/proxy/g/v1/é', 'printable ASCII'],
    ['/proxy/g/v1/x#frag', 'fragment'],
    ['/proxy/g/v1/x?a=%00', 'NUL'],
  ])('refuses %s', (raw, why) => {
    const t = parse(raw);
    expect(t?.group).toBe('g');
    expect(t?.invalid).toContain(why);
  });

  it('leaves dots that are not whole segments alone', () => {
    for (const raw of [
      '/proxy/g/v1/.well-known',
      '/proxy/g/v1/a..b',
      '/proxy/g/v1/...',
      '/proxy/g/v1/a.json',
    ])
      expect(parse(raw)?.invalid).toBeNull();
  });

  it('answers null (not found) for what is not a proxy target or names no decodable group', () => {
    expect(parse('/api/groups')).toBeNull();
    expect(parse('/proxy/')).toBeNull();
    expect(parse('/proxy//v1')).toBeNull();
    expect(parse('/proxy/%E0%A4%A/v1')).toBeNull();
    expect(parse('/%70roxy/g/v1')).toBeNull();
    expect(parse('ftp://x/proxy/g')).toBeNull();
  });
});
