import { describe, expect, it } from 'vitest';
import { applyHeaderRules } from './header-rules';

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
