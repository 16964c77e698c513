import { describe, expect, it } from 'vitest';
import {
  defaultSettings,
  describeSettings,
  groupConfigInputSchema,
  groupConfigSchema,
  groupOverridableKeys,
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

  it('accepts an empty proxyUrl (what an older console sends back) and drops it', () => {
    expect(settingsPatchSchema.parse({ proxyUrl: '', maxRetries: 2 })).toEqual({ maxRetries: 2 });
  });

  it.each(['http://proxy:8080', 'socks5://127.0.0.1:1080'])(
    'refuses proxyUrl %j: no request would go through it',
    (url) => {
      const r = settingsPatchSchema.safeParse({ proxyUrl: url });
      expect(r.error?.issues[0]?.path).toEqual(['proxyUrl']);
      expect(r.error?.issues[0]?.message).toMatch(/^proxyUrl is not supported yet/);
    },
  );

  it('offers egressBlockPrivate, off by default, global only', () => {
    expect(defaultSettings.egressBlockPrivate).toBe(false);
    expect(settingsPatchSchema.parse({ egressBlockPrivate: true })).toEqual({ egressBlockPrivate: true });
    expect(groupOverridableKeys).not.toContain('egressBlockPrivate');
    expect(describeSettings().map((e) => e.key)).not.toContain('proxyUrl');
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
  it('refuses a non-empty proxyUrl override and drops an empty one', () => {
    expect(groupConfigInputSchema.parse({ proxyUrl: '', maxRetries: 1 })).toEqual({ maxRetries: 1 });
    expect(groupConfigInputSchema.safeParse({ proxyUrl: 'http://p:1' }).error?.issues[0]?.message).toMatch(
      /not supported yet/,
    );
  });

  it('reads a stored config with a retired or invalid entry, keeping the valid overrides', () => {
    expect(
      readGroupConfig({ proxyUrl: 'http://p:1', maxRetries: 1, blacklistThreshold: -5, nope: true }),
    ).toEqual({ maxRetries: 1 });
    expect(readGroupConfig(null)).toEqual({});
    expect(readGroupConfig([1])).toEqual({});
  });
});
