import { describe, expect, it } from 'vitest';
import {
  defaultSettings,
  describeSettings,
  groupConfigInputSchema,
  groupConfigSchema,
  groupOverridableKeys,
  isMaskedProxyUrl,
  maskProxyUrl,
  PROXY_URL_MESSAGES,
  readGroupConfig,
  settingDefinitions,
  settingsPatchSchema,
  settingsSchema,
} from './settings';
import type { SettingKey } from './settings';

describe('settingsPatchSchema', () => {
  it('accepts any subset, including an empty patch', () => {
    expect(settingsPatchSchema.parse({})).toEqual({});
    expect(settingsPatchSchema.parse({ maxRetries: 5, requestLogging: 'errors' })).toEqual({
      maxRetries: 5,
      requestLogging: 'errors',
    });
  });

  it('rejects an unknown key', () => {
    const r = settingsPatchSchema.safeParse({ maxRetries: 1, maxRetry: 2 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['maxRetry'] });
  });

  it.each([
    ['maxRetries', -1],
    ['maxRetries', 51],
    ['maxRetries', 1.5],
    ['requestTimeoutSeconds', 0],
    ['rateLimitCooldownSeconds', 0],
    ['quotaCooldownMinutes', 0],
    ['keyValidationConcurrency', 101],
    ['requestLogRetentionDays', -1],
  ] satisfies Array<[SettingKey, number]>)('enforces the bounds: %s = %s is refused', (key, value) => {
    const r = settingsPatchSchema.safeParse({ [key]: value });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual([key]);
  });

  it('accepts values on the bounds (0 = never blacklist, 0 = keep logs forever)', () => {
    expect(
      settingsPatchSchema.safeParse({ blacklistThreshold: 0, requestLogRetentionDays: 0, maxRetries: 50 })
        .success,
    ).toBe(true);
  });

  it.each(['400-403,405-999', '429', '500-599\n429', null])('accepts failoverStatusCodes %j', (spec) => {
    expect(settingsPatchSchema.parse({ failoverStatusCodes: spec })).toEqual({ failoverStatusCodes: spec });
  });

  it.each(['abc', '4xx', '600-500', '40'])('refuses failoverStatusCodes %j', (spec) => {
    const r = settingsPatchSchema.safeParse({ failoverStatusCodes: spec });
    expect(r.error?.issues[0]).toMatchObject({
      path: ['failoverStatusCodes'],
      message: 'must be status codes or ranges like "400-403,405-999"',
    });
  });

  it('reads an empty proxyUrl (what a console sends for none) as unset', () => {
    expect(settingsPatchSchema.parse({ proxyUrl: '', maxRetries: 2 })).toEqual({
      proxyUrl: null,
      maxRetries: 2,
    });
  });

  it.each([
    'http://proxy:8080',
    'https://user:p%40ss@proxy.example:8443',
    'socks5://127.0.0.1:1080',
    'socks5h://u:p@[::1]:1080/',
  ])('accepts the proxyUrl %j', (url) => {
    expect(settingsPatchSchema.parse({ proxyUrl: url })).toEqual({ proxyUrl: url });
  });

  it.each([
    ['ftp://proxy:21', PROXY_URL_MESSAGES.scheme],
    ['socks4://proxy:1080', PROXY_URL_MESSAGES.scheme],
    ['proxy:8080', PROXY_URL_MESSAGES.scheme],
    ['http://proxy:8080/path', PROXY_URL_MESSAGES.path],
    ['http://proxy:8080?x=1', PROXY_URL_MESSAGES.path],
    ['http://pro xy:8080', PROXY_URL_MESSAGES.characters],
  ])('refuses the proxyUrl %j', (url, message) => {
    const r = settingsPatchSchema.safeParse({ proxyUrl: url });
    expect(r.error?.issues[0]).toMatchObject({ path: ['proxyUrl'], message });
  });

  it('masks the credentials of a proxy URL and recognises the masked form', () => {
    expect(maskProxyUrl('socks5://user:secret-pass@proxy:1080')).toBe('socks5://…@proxy:1080');
    expect(maskProxyUrl('http://proxy:3128')).toBe('http://proxy:3128');
    expect(isMaskedProxyUrl('socks5://…@proxy:1080')).toBe(true);
    expect(isMaskedProxyUrl('socks5://user:secret-pass@proxy:1080')).toBe(false);
    expect(describeSettings().find((e) => e.key === 'proxyUrl')).toMatchObject({
      secret: true,
      groupOverridable: true,
    });
  });

  it('offers egressBlockPrivate, off by default, global only', () => {
    expect(defaultSettings.egressBlockPrivate).toBe(false);
    expect(settingsPatchSchema.parse({ egressBlockPrivate: true })).toEqual({ egressBlockPrivate: true });
    expect(groupOverridableKeys).not.toContain('egressBlockPrivate');
  });

  it('trims proxy keys and refuses blank ones', () => {
    expect(settingsPatchSchema.parse({ proxyKeys: [' pk-1 '] })).toEqual({ proxyKeys: ['pk-1'] });
    expect(settingsPatchSchema.safeParse({ proxyKeys: ['  '] }).success).toBe(false);
  });
});

describe('settings definitions', () => {
  it('has defaults that pass their own schema', () => {
    expect(settingsSchema.parse(defaultSettings)).toEqual(defaultSettings);
  });

  it('describes each setting with bounds matching its schema', () => {
    for (const entry of describeSettings()) {
      const schema = settingDefinitions[entry.key as SettingKey].schema;
      if (entry.min !== undefined) {
        expect(schema.safeParse(entry.min).success, `${entry.key} min`).toBe(true);
        expect(schema.safeParse(entry.min - 1).success, `${entry.key} below min`).toBe(false);
      }
      if (entry.max !== undefined) {
        expect(schema.safeParse(entry.max).success, `${entry.key} max`).toBe(true);
        expect(schema.safeParse(entry.max + 1).success, `${entry.key} above max`).toBe(false);
      }
    }
  });

  it('marks proxyKeys as secret', () => {
    expect(describeSettings().find((e) => e.key === 'proxyKeys')?.secret).toBe(true);
  });

  it('lets a group override exactly the group-overridable settings', () => {
    expect(groupOverridableKeys).toContain('maxRetries');
    expect(groupOverridableKeys).not.toContain('appUrl');
    expect(groupConfigSchema.safeParse({ maxRetries: 2, failoverStatusCodes: '500-599' }).success).toBe(true);
    expect(groupConfigSchema.safeParse({ proxyKeys: ['x'] }).success).toBe(false);
  });
});

describe('group config', () => {
  it('accepts a proxyUrl override', () => {
    expect(groupConfigInputSchema.parse({ proxyUrl: 'socks5h://p:1080', maxRetries: 1 })).toEqual({
      proxyUrl: 'socks5h://p:1080',
      maxRetries: 1,
    });
  });

  it('reads a stored config with an unknown or invalid entry, keeping the valid overrides', () => {
    expect(
      readGroupConfig({ proxyUrl: 'gopher://p:1', maxRetries: 1, blacklistThreshold: -5, nope: true }),
    ).toEqual({ maxRetries: 1 });
    expect(readGroupConfig(null)).toEqual({});
    expect(readGroupConfig([1])).toEqual({});
  });
});
