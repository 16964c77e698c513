import { describe, expect, it } from 'vitest';
import { defaultSettings } from './settings';
import { configSnapshotSchema } from './snapshot';

const { proxyKeys: _secret, ...settings } = defaultSettings;

function snapshot(overrides: { settings?: Record<string, unknown>; config?: Record<string, unknown> } = {}) {
  return {
    version: 3,
    settings: { ...settings, ...overrides.settings },
    proxyKeyHashes: [],
    groups: [
      {
        id: 1,
        name: 'oa',
        type: 'standard',
        channel: 'openai',
        upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
        testModel: 'gpt-4.1-nano',
        validationEndpoint: '/v1/chat/completions',
        proxyKeyHashes: [],
        paramOverrides: {},
        modelRedirects: {},
        modelRedirectStrict: false,
        headerRules: [],
        config: { maxRetries: 1, ...overrides.config },
        subGroups: [],
      },
    ],
  };
}

describe('config snapshot across versions (rolling upgrades)', () => {
  it('drops a setting this version does not know (written by a newer control plane)', () => {
    const parsed = configSnapshotSchema.parse(snapshot({ settings: { futureSetting: 1 } }));
    expect(parsed.settings).not.toHaveProperty('futureSetting');
  });

  it('carries the proxy URLs a gateway connects through, and loads a snapshot without a proxy pool', () => {
    const parsed = configSnapshotSchema.parse(snapshot({ settings: { proxyUrl: 'http://u:p@proxy:3128' } }));
    expect(parsed.settings.proxyUrl).toBe('http://u:p@proxy:3128');
    expect(parsed.groups[0]?.proxyPool ?? []).toEqual([]);
  });

  it('carries tiers and aliases, and loads a snapshot from a control plane that sends neither', () => {
    const old = configSnapshotSchema.parse(snapshot());
    expect(old.groups[0]?.modelAliases).toBeUndefined();
    const s = snapshot();
    const group = {
      ...s.groups[0],
      modelAliases: { smart: ['gpt-4.1', 'gpt-4o'] },
      subGroups: [{ groupId: 2, weight: 1, priority: 2 }],
    };
    const parsed = configSnapshotSchema.parse({ ...s, groups: [group] });
    expect(parsed.groups[0]?.modelAliases).toEqual({ smart: ['gpt-4.1', 'gpt-4o'] });
    expect(parsed.groups[0]?.subGroups).toEqual([{ groupId: 2, weight: 1, priority: 2 }]);
  });

  it('fills a setting the writer did not know yet with its default', () => {
    const { egressBlockPrivate: _new, ...older } = settings;
    const parsed = configSnapshotSchema.parse({ ...snapshot(), settings: older });
    expect(parsed.settings.egressBlockPrivate).toBe(defaultSettings.egressBlockPrivate);
  });

  it('still refuses a known setting with a value of the wrong type', () => {
    expect(() => configSnapshotSchema.parse(snapshot({ settings: { maxRetries: 'many' } }))).toThrow();
  });
});
