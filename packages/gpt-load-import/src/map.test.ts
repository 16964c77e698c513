import { describe, expect, it } from 'vitest';
import { hashProxyKey } from '@keyway/keypool';
import { mapGptLoad, splitProxyKeys } from './map';
import { describePlan } from './plan';
import { gptLoadGroup, gptLoadKey, gptLoadSnapshot } from './test-snapshot';

const STRONG = 'Zq8vN2kLp4Rt7wXy1Bc';

const group = gptLoadGroup;
const key = gptLoadKey;
const snapshot = gptLoadSnapshot;

describe('mapGptLoad', () => {
  it('carries a standard group over field by field, config renamed to Keyway settings', () => {
    const plan = mapGptLoad(
      snapshot({
        groups: [
          group({
            id: 1,
            name: '_team-a',
            displayName: ' Team A ',
            channelType: 'anthropic',
            upstreams: [
              { url: 'https://api.anthropic.com/', weight: 3 },
              { url: 'https://backup.example.com/v1', weight: 0 },
            ],
            validationEndpoint: '/v1/messages?beta=true',
            testModel: 'claude-haiku-4-5',
            paramOverrides: { temperature: 0.2 },
            modelRedirectRules: { 'gpt-4o': 'claude-sonnet-4', bad: 3 },
            modelRedirectStrict: true,
            headerRules: [
              { key: 'X-Team', value: '${GROUP_NAME}', action: 'set' },
              { key: 'Openai-Organization', value: '', action: 'remove' },
              { key: 'Host', value: 'x', action: 'set' },
            ],
            config: {
              request_timeout: 120,
              max_retries: '2',
              blacklist_threshold: 0,
              failover_status_codes: '400-403,405-999',
              key_validation_interval_minutes: 30,
              enable_request_body_logging: true,
              max_idle_conns: 10,
            },
          }),
        ],
      }),
    );
    const g = plan.groups[0];
    expect(g).toMatchObject({
      name: '_team-a',
      displayName: 'Team A',
      channel: 'anthropic',
      upstreams: [
        { url: 'https://api.anthropic.com', weight: 3 },
        { url: 'https://backup.example.com/v1', weight: 0 },
      ],
      validationEndpoint: '/v1/messages?beta=true',
      paramOverrides: { temperature: 0.2 },
      modelRedirects: { 'gpt-4o': 'claude-sonnet-4' },
      modelRedirectStrict: true,
      headerRules: [
        { action: 'set', key: 'X-Team', value: '${GROUP_NAME}' },
        { action: 'remove', key: 'Openai-Organization' },
      ],
      config: {
        requestTimeoutSeconds: 120,
        maxRetries: 2,
        blacklistThreshold: 0,
        keyRecheckIntervalMinutes: 30,
        requestLogBodies: true,
      },
    });
    // GPT-Load's default failover codes mean "unset" in Keyway.
    expect(g?.config).not.toHaveProperty('failoverStatusCodes');
    const text = plan.warnings.join('\n');
    expect(text).toMatch(/'_team-a': config\.max_idle_conns/);
    expect(text).toMatch(/header_rules\.2 \(Host\)/);
    expect(text).toMatch(/model_redirect_rules\.bad/);
  });

  it('maps aggregates with their members and weights, standard groups first', () => {
    const plan = mapGptLoad(
      snapshot({
        groups: [
          group({ id: 3, name: 'agg', groupType: 'aggregate', upstreams: [], testModel: '-', sort: 0 }),
          group({ id: 1, name: 'a', sort: 1 }),
          group({ id: 2, name: 'b', sort: 1 }),
          group({ id: 4, name: 'g', channelType: 'gemini', validationEndpoint: '/x' }),
        ],
        subGroups: [
          { groupId: 3, subGroupId: 1, weight: 70 },
          { groupId: 3, subGroupId: 2, weight: 0 },
          { groupId: 3, subGroupId: 4, weight: 5 },
        ],
      }),
    );
    expect(plan.groups.map((g) => g.name)).toEqual(['g', 'b', 'a', 'agg']);
    const agg = plan.groups.find((g) => g.name === 'agg');
    expect(agg).toMatchObject({ type: 'aggregate', upstreams: [], testModel: '' });
    expect(agg?.subGroups).toEqual([
      { sourceId: 1, weight: 70 },
      { sourceId: 2, weight: 0 },
    ]);
    expect(plan.warnings.join('\n')).toMatch(/'agg': sub-group 'g' is a gemini group/);
    // GPT-Load ignores a gemini group's validation endpoint.
    expect(plan.groups.find((g) => g.name === 'g')?.validationEndpoint).toBe('');
  });

  it('imports keys with their state, notes and counters; counts undecryptable and duplicate ones', () => {
    const plan = mapGptLoad(
      snapshot({
        groups: [group({ id: 1, name: 'a' }), group({ id: 2, name: 'x', channelType: 'cohere' })],
        keys: [
          key(1, 1, 'sk-one', { status: 'invalid', notes: 'dead', requestCount: 9, failureCount: 3 }),
          key(2, 1, 'sk-one'),
          key(3, 1, null),
          key(4, 2, 'sk-other-group'),
          key(5, 1, 'sk-two'),
        ],
      }),
    );
    expect(plan.keys).toEqual([
      expect.objectContaining({
        value: 'sk-one',
        status: 'invalid',
        notes: 'dead',
        requestCount: 9,
        failureCount: 3,
      }),
      expect.objectContaining({ value: 'sk-two', status: 'active' }),
    ]);
    expect(plan.undecryptable).toBe(1);
    expect(plan.keysIgnored).toBe(2);
    expect(plan.warnings.join('\n')).toMatch(/channel type 'cohere' has no Keyway channel/);
  });

  it('hashes proxy keys as Keyway stores them and flags weak ones with a security warning', () => {
    const plan = mapGptLoad(
      snapshot({
        settings: [{ key: 'proxy_keys', value: `sk-123456,${STRONG}, ,sk-123456` }],
        groups: [group({ id: 1, name: 'a', proxyKeys: ` ${STRONG}-g , x ` })],
      }),
    );
    expect(plan.globalProxyKeys.map((k) => k.hash)).toEqual([
      hashProxyKey('sk-123456'),
      hashProxyKey(STRONG),
    ]);
    expect(plan.globalProxyKeys[0]?.weak).toBeTruthy();
    expect(plan.globalProxyKeys[1]?.weak).toBeUndefined();
    expect(plan.groups[0]?.proxyKeys.map((k) => k.hash)).toEqual([
      hashProxyKey(`${STRONG}-g`),
      hashProxyKey('x'),
    ]);
    expect(plan.warnings.join('\n')).toMatch(/security: weak proxy keys .*1 global, 1 of group 'a'/);
    expect(describePlan(plan).join('\n')).not.toContain('sk-123456');
  });

  it('maps system settings and lists every one it does not apply with why', () => {
    const plan = mapGptLoad(
      snapshot({
        settings: [
          { key: 'app_url', value: 'https://gw.example.com' },
          { key: 'request_timeout', value: '1e+06' },
          { key: 'request_log_retention_days', value: '-1' },
          { key: 'failover_status_codes', value: '400-403,405-999' },
          { key: 'request_log_write_interval_minutes', value: '1' },
          { key: 'proxy_url', value: '' },
          { key: 'enable_request_body_logging', value: 'T' },
          { key: 'max_retries', value: 'lots' },
          { key: 'something_new', value: '1' },
        ],
      }),
    );
    expect(plan.settings.values).toEqual({
      appUrl: 'https://gw.example.com',
      requestTimeoutSeconds: 86_400,
      requestLogRetentionDays: 0,
      proxyUrl: null,
      requestLogBodies: true,
    });
    expect(plan.settings.ignored.map((s) => s.key)).toEqual([
      'failover_status_codes',
      'request_log_write_interval_minutes',
      'max_retries',
      'something_new',
    ]);
    expect(plan.settings.ignored.every((s) => s.reason.length > 10)).toBe(true);
  });

  it('keeps NUL, line breaks and control characters out of stored text, and never takes such a value as a key', () => {
    const plan = mapGptLoad(
      snapshot({
        groups: [
          group({ id: 1, name: 'a', displayName: 'Team\r\nSet-Cookie: x', description: 'two\nlines\u0000' }),
        ],
        keys: [
          key(1, 1, 'sk-good', { notes: 'note\r\nInjected: 1\u0000' }),
          key(2, 1, 'sk-bad\r\nX-Injected: 1'),
          key(3, 1, 'sk-nul\u0000tail'),
        ],
      }),
    );
    expect(plan.groups[0]).toMatchObject({ displayName: 'Team Set-Cookie: x', description: 'two\nlines' });
    expect(plan.keys.map((k) => [k.value, k.notes])).toEqual([['sk-good', 'note Injected: 1']]);
    expect(plan.keysIgnored).toBe(2);
  });

  it('keeps a non-default failover list', () => {
    const plan = mapGptLoad(snapshot({ settings: [{ key: 'failover_status_codes', value: '429,500-599' }] }));
    expect(plan.settings.values.failoverStatusCodes).toBe('429,500-599');
  });
});

describe('splitProxyKeys', () => {
  it('splits on commas only, as GPT-Load does', () => {
    expect(splitProxyKeys('a, b,,c\nd')).toEqual(['a', 'b', 'c\nd']);
  });
});
