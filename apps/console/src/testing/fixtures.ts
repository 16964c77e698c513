import type { AccessKey, Group, Key, SettingSchemaEntry, Settings } from '@keyway/contracts';
import { defaultAffinity, defaultSettings, describeSettings, NO_LIMITS } from '@keyway/contracts';

/** A group as the API returns it, with overrides. */
export function group(over: Partial<Group> = {}): Group {
  return {
    id: 1,
    name: 'openai',
    displayName: 'OpenAI',
    description: '',
    type: 'standard',
    channel: 'openai',
    upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
    testModel: '',
    validationEndpoint: '',
    proxyKeys: [],
    proxyPool: [],
    translate: { from: [] },
    paramOverrides: {},
    modelRedirects: {},
    modelRedirectStrict: false,
    modelAliases: {},
    models: [],
    headerRules: [],
    keyLimits: null,
    affinity: { ...defaultAffinity },
    dailyResetTimeZone: null,
    config: {},
    subGroups: [],
    sort: 1,
    endpoint: 'http://localhost:3001/proxy/openai',
    keyStats: { total: 0, active: 0, cooling: 0, invalid: 0, disabled: 0 },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

export function key(id: number, over: Partial<Key> = {}): Key {
  return {
    id,
    groupId: 1,
    key: `sk-a***${String(id).padStart(4, '0')}`,
    status: 'active',
    failureCount: 0,
    requestCount: 0,
    lastUsedAt: null,
    lastError: null,
    cooldownUntil: null,
    modelCooling: [],
    notes: '',
    createdAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

/** `GET /api/settings` exactly as the control plane builds it (schema from contracts). */
export function settingsResponse(values: Partial<Settings> = {}): {
  values: Settings;
  schema: SettingSchemaEntry[];
} {
  return { values: { ...defaultSettings, ...values }, schema: describeSettings() };
}

/** An access key as the API lists it (masked key, no usage), with overrides. */
export function accessKey(id: number, over: Partial<AccessKey> = {}): AccessKey {
  return {
    id,
    name: `key-${id}`,
    key: `sk-k***${String(id).padStart(4, '0')}`,
    groups: [],
    models: [],
    limits: { ...NO_LIMITS },
    expiresAt: null,
    enabled: true,
    notes: '',
    createdAt: '2026-01-01T00:00:00.000Z',
    lastUsedAt: null,
    usage: {
      requestsToday: 0,
      tokensToday: 0,
      costUsdToday: 0,
      tokensMonth: 0,
      costUsdMonth: 0,
      costUsdTotal: 0,
      rpmNow: 0,
    },
    ...over,
  };
}
