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
  it('loads a snapshot written by an older control plane that still carries the retired proxyUrl', () => {
    const parsed = configSnapshotSchema.parse(
      snapshot({ settings: { proxyUrl: 'http://old-proxy:3128' }, config: { proxyUrl: '' } }),
    );
    expect(parsed.settings).not.toHaveProperty('proxyUrl');
    expect(parsed.groups[0]?.config).toEqual({ maxRetries: 1 });
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
