import { describe, expect, it } from 'vitest';
import { applyHeaderRules, isSendableHeaderValue, unsendableConfig } from './header-rules';

const vars = { clientIp: '203.0.113.9', groupName: 'team', apiKey: 'sk-upstream-1', now: 1_700_000_000_123 };

describe('applyHeaderRules', () => {
  it('substitutes the five variables in set rules', () => {
    const h: Record<string, string | string[] | undefined> = {};
    applyHeaderRules(
      h,
      [
        {
          action: 'set',
          key: 'X-Info',
          value: '${CLIENT_IP}|${GROUP_NAME}|${API_KEY}|${TIMESTAMP_MS}|${TIMESTAMP_S}',
        },
      ],
      vars,
    );
    expect(h['x-info']).toBe('203.0.113.9|team|sk-upstream-1|1700000000123|1700000000');
  });

  it('removes headers case-insensitively and can override the credential', () => {
    const h: Record<string, string | string[] | undefined> = {
      authorization: 'Bearer k',
      'x-forwarded-for': '1.2.3.4',
    };
    applyHeaderRules(
      h,
      [
        { action: 'remove', key: 'X-Forwarded-For' },
        { action: 'set', key: 'Authorization', value: 'Token ${API_KEY}' },
      ],
      vars,
    );
    expect(h).toEqual({ authorization: 'Token sk-upstream-1' });
  });

  it('applies rules in order', () => {
    const h: Record<string, string | string[] | undefined> = {};
    applyHeaderRules(
      h,
      [
        { action: 'set', key: 'x-a', value: '1' },
        { action: 'remove', key: 'x-a' },
      ],
      vars,
    );
    expect(h['x-a']).toBeUndefined();
  });
});

describe('unsendableConfig', () => {
  it('accepts ordinary rules, variables and Latin-1 values', () => {
    expect(
      unsendableConfig({
        upstreams: [{ url: 'https://api.openai.com' }, { url: 'http://10.0.0.5:8080/v1' }],
        headerRules: [
          { action: 'set', key: 'X-Team', value: 'café ${GROUP_NAME} ${API_KEY}' },
          { action: 'remove', key: 'x-forwarded-for' },
        ],
      }),
    ).toEqual([]);
  });

  it('names the field and why, never the value', () => {
    const problems = unsendableConfig({
      upstreams: [{ url: 'ftp://files.example' }, { url: 'not a url' }],
      headerRules: [
        { action: 'set', key: 'X-A', value: 'secret-1\r\nX-B: 1' },
        { action: 'set', key: 'X-C', value: 'équipe → secret-2' },
        { action: 'set', key: 'X C', value: 'v' },
        { action: 'set', key: 'Transfer-Encoding', value: 'chunked' },
        { action: 'set', key: 'X-D', value: 'nul\u0000secret-3' },
      ],
    });
    expect(problems.map((p) => p.field)).toEqual([
      'upstreams[0].url',
      'upstreams[1].url',
      'headerRules[0].value',
      'headerRules[1].value',
      'headerRules[2].key',
      'headerRules[3].key',
      'headerRules[4].value',
    ]);
    expect(JSON.stringify(problems)).not.toMatch(/secret-|files\.example/);
  });

  it('isSendableHeaderValue refuses CR, LF, NUL and characters above U+00FF', () => {
    expect(isSendableHeaderValue('Bearer sk-abc\tdéf')).toBe(true);
    for (const bad of ['a\rb', 'a\nb', 'a\u0000b', 'a\u2192b'])
      expect(isSendableHeaderValue(bad)).toBe(false);
  });
});
