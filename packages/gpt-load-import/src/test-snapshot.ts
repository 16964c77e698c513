// Test-only builders of GPT-Load snapshot rows, for the mapping and writing tests (the reader's tests use the
// database fixture in ./testing instead).
import type { GptLoadGroup, GptLoadKey, GptLoadSnapshot } from './types';

/** A standard OpenAI group with every optional column empty, overridden by `over`. */
export function gptLoadGroup(over: Partial<GptLoadGroup> & { id: number; name: string }): GptLoadGroup {
  return {
    displayName: null,
    proxyKeys: null,
    description: null,
    groupType: 'standard',
    upstreams: [{ url: 'https://api.openai.com/', weight: 1 }],
    validationEndpoint: null,
    channelType: 'openai',
    sort: 0,
    testModel: 'gpt-4o-mini',
    paramOverrides: null,
    config: null,
    headerRules: null,
    modelRedirectRules: null,
    modelRedirectStrict: false,
    lastValidatedAt: null,
    createdAt: null,
    updatedAt: null,
    ...over,
  };
}

/** An active key (null value = undecryptable). */
export function gptLoadKey(
  id: number,
  groupId: number,
  value: string | null,
  over: Partial<GptLoadKey> = {},
): GptLoadKey {
  return {
    id,
    groupId,
    keyValue: value,
    encoding: value === null ? 'undecryptable' : 'ciphertext',
    keyHash: null,
    status: 'active',
    notes: '',
    requestCount: 0,
    failureCount: 0,
    lastUsedAt: null,
    createdAt: null,
    ...over,
  };
}

/** An empty encrypted SQLite snapshot (no logs), overridden by `over`. */
export function gptLoadSnapshot(over: Partial<GptLoadSnapshot>): GptLoadSnapshot {
  const none = (): AsyncIterable<never> => ({
    [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
  });
  return {
    source: { kind: 'sqlite', label: 'gpt-load.db' },
    encrypted: true,
    settings: [],
    groups: [],
    subGroups: [],
    keys: [],
    keyCounts: { ciphertext: 0, plaintext: 0, undecryptable: 0 },
    issues: [],
    counts: { requestLogs: 0, hourlyStats: 0 },
    requestLogs: none,
    hourlyStats: none,
    ...over,
  };
}
