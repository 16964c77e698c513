import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { toValidationIssues } from './common';
import { groupCreateSchema, groupPatchSchema, proxyForKey } from './groups';

const minimal = { name: 'openai', channel: 'openai', upstreams: [{ url: 'https://api.openai.com' }] };

/** The `path: message` pairs of a failed parse (fails the test when the parse succeeds). */
function issues(schema: z.ZodType, input: unknown): string[] {
  const r = schema.safeParse(input);
  if (r.success) throw new Error(`expected a validation error for ${JSON.stringify(input)}`);
  return toValidationIssues(r.error).map((i) => `${i.path}: ${i.message}`);
}

describe('groupCreateSchema', () => {
  it('fills the defaults of a minimal standard group', () => {
    expect(groupCreateSchema.parse(minimal)).toEqual({
      name: 'openai',
      displayName: '',
      description: '',
      type: 'standard',
      channel: 'openai',
      upstreams: [{ url: 'https://api.openai.com', weight: 1 }],
      testModel: '',
      validationEndpoint: '',
      proxyKeys: [],
      proxyPool: [],
      paramOverrides: {},
      modelRedirects: {},
      modelRedirectStrict: false,
      modelAliases: {},
      models: [],
      headerRules: [],
      keyLimits: null,
      affinity: { mode: 'off', header: 'x-session-id', ttlSeconds: 3600 },
      dailyResetTimeZone: null,
      translate: { from: [] },
      config: {},
      subGroups: [],
    });
  });

  // GPT-Load's rule (API.md "GPT-Load import"): imported names such as `_lab` and `-legacy` keep their URLs.
  it.each(['openai', 'a', '0group', 'gemini_pro-2', '-openai', '_x', 'a'.repeat(100)])(
    'accepts the name %j',
    (name) => {
      expect(groupCreateSchema.safeParse({ ...minimal, name }).success).toBe(true);
    },
  );

  it.each(['OpenAI', 'has space', 'dots.not.ok', 'a/b', '', 'a'.repeat(101), 'ünïcode'])(
    'refuses the name %j',
    (name) => {
      expect(issues(groupCreateSchema, { ...minimal, name })[0]).toMatch(/^name: /);
    },
  );

  it('rejects an unknown field', () => {
    expect(issues(groupCreateSchema, { ...minimal, upstream: 'https://x' })).toEqual([
      ': Unrecognized key: "upstream"',
    ]);
  });

  it('accepts the read-only fields a GET returns and strips them', () => {
    const out = groupCreateSchema.parse({
      ...minimal,
      id: 7,
      endpoint: 'http://localhost:3001/proxy/openai',
      createdAt: '2025-01-01T00:00:00Z',
      updatedAt: '2025-01-02T00:00:00Z',
      keyStats: { total: 1 },
      sort: 3,
    });
    for (const k of ['id', 'endpoint', 'createdAt', 'updatedAt', 'keyStats', 'sort'])
      expect(out).not.toHaveProperty(k);
    expect(out.name).toBe('openai');
  });

  it('requires at least one upstream for a standard group', () => {
    expect(issues(groupCreateSchema, { name: 'openai', channel: 'openai' })).toEqual([
      'upstreams: at least one upstream is required',
    ]);
  });

  it('forbids sub-groups on a standard group', () => {
    expect(issues(groupCreateSchema, { ...minimal, subGroups: [{ groupId: 2 }] })).toEqual([
      'subGroups: only aggregate groups have sub-groups',
    ]);
  });

  it('forbids upstreams on an aggregate group and accepts one with sub-groups only', () => {
    expect(issues(groupCreateSchema, { ...minimal, type: 'aggregate' })).toEqual([
      'upstreams: an aggregate group has no upstreams',
    ]);
    const agg = groupCreateSchema.parse({
      name: 'all',
      channel: 'openai',
      type: 'aggregate',
      subGroups: [{ groupId: 2, weight: 3 }],
    });
    expect(agg).toMatchObject({ type: 'aggregate', upstreams: [], subGroups: [{ groupId: 2, weight: 3 }] });
  });

  it('rejects a duplicate header rule, case-insensitively, at the duplicate', () => {
    const headerRules = [
      { action: 'set', key: 'X-Title', value: 'Keyway' },
      { action: 'remove', key: 'anthropic-beta' },
      { action: 'set', key: 'x-title', value: 'again' },
    ];
    expect(issues(groupCreateSchema, { ...minimal, headerRules })).toEqual([
      'headerRules.2.key: duplicate header',
    ]);
  });

  it.each([
    [{ action: 'set', key: 'Bad Header', value: 'x' }, /not a valid HTTP header name/],
    [{ action: 'set', key: 'X-A' }, /^headerRules\.0\.value: /],
    [{ action: 'rename', key: 'X-A' }, /^headerRules\.0\.action: /],
  ])('refuses the header rule %j', (rule, message) => {
    expect(issues(groupCreateSchema, { ...minimal, headerRules: [rule] })[0]).toMatch(message);
  });

  it.each([
    ['ftp://files.example.com', /^upstreams\.0\.url: /],
    ['https://api.openai.com/v1?key=x', /must not contain a query or fragment/],
    ['https://api.openai.com/#x', /must not contain a query or fragment/],
    ['not a url', /^upstreams\.0\.url: /],
    ['http://user:pass@api.example.com', /credentials belong in keys or header rules/],
    ['http://user@api.example.com', /credentials belong in keys or header rules/],
    ['http://@api.example.com', /credentials belong in keys or header rules/],
    ['http://api.example.com/v1\r\nX-Injected: 1', /line breaks/],
    ['http://api.example.com/v\n1', /line breaks/],
    ['http://api.example.com/v\t1', /line breaks/],
    [' https://api.example.com', /line breaks/],
    ['http://api.example.com/a\u0000b', /control characters/],
    ['gopher://api.example.com', /http:\/\/ or https:\/\//],
    ['http:api.example.com', /http:\/\/ or https:\/\//],
  ])('refuses the upstream %j', (url, message) => {
    expect(issues(groupCreateSchema, { ...minimal, upstreams: [{ url }] })[0]).toMatch(message);
  });

  it('refuses an upstream weight outside 0–1000', () => {
    expect(
      issues(groupCreateSchema, { ...minimal, upstreams: [{ url: 'https://a.test', weight: 1001 }] })[0],
    ).toMatch(/^upstreams\.0\.weight: /);
  });

  it('accepts group-overridable settings in config and rejects global-only ones', () => {
    expect(groupCreateSchema.parse({ ...minimal, config: { maxRetries: 5 } }).config).toEqual({
      maxRetries: 5,
    });
    expect(issues(groupCreateSchema, { ...minimal, config: { appUrl: 'http://x.test' } })).toEqual([
      'config: Unrecognized key: "appUrl"',
    ]);
  });
});

describe('groupPatchSchema', () => {
  it('accepts any subset of the fields and fills no defaults', () => {
    expect(groupPatchSchema.parse({ displayName: 'OpenAI main' })).toEqual({ displayName: 'OpenAI main' });
    expect(groupPatchSchema.parse({})).toEqual({});
  });

  it('does not apply the create-time cross-field rules to a partial body', () => {
    expect(groupPatchSchema.safeParse({ type: 'aggregate' }).success).toBe(true);
    expect(groupPatchSchema.safeParse({ upstreams: [] }).success).toBe(true);
  });

  it('still rejects duplicate header rules, unknown fields and bad names', () => {
    expect(
      issues(groupPatchSchema, {
        headerRules: [
          { action: 'set', key: 'X-A', value: '1' },
          { action: 'remove', key: 'x-a' },
        ],
      }),
    ).toEqual(['headerRules.1.key: duplicate header']);
    expect(issues(groupPatchSchema, { nope: true })).toEqual([': Unrecognized key: "nope"']);
    expect(issues(groupPatchSchema, { name: 'Bad Name' })[0]).toMatch(/^name: /);
  });

  it('accepts and strips read-only fields sent back from a GET', () => {
    expect(groupPatchSchema.parse({ id: 1, sort: 2, description: 'd' })).toEqual({ description: 'd' });
  });
});

describe('header rules on write', () => {
  const rule = (key: string, value = 'x', action: 'set' | 'remove' = 'set') =>
    issues(groupCreateSchema, { ...minimal, headerRules: [{ action, key, value }] });

  it.each([
    ['X-A', 'a\r\nX-Injected: 1', 'headerRules.0.value: must not contain line breaks (CR or LF)'],
    ['X-A', 'a\nb', 'headerRules.0.value: must not contain line breaks (CR or LF)'],
    ['X-A', 'a\rb', 'headerRules.0.value: must not contain line breaks (CR or LF)'],
    ['X-A', 'a\u0000b', 'headerRules.0.value: must not contain NUL characters'],
    ['X-A', 'caf\u00e9 \u2603', 'headerRules.0.value: must be Latin-1: no characters above U+00FF'],
    ['X-A', '\u{1F600}', 'headerRules.0.value: must be Latin-1: no characters above U+00FF'],
    ['X-A', 'a\u0007b', 'headerRules.0.value: must not contain control characters'],
    ['X-A', 'a\u007fb', 'headerRules.0.value: must not contain control characters'],
  ])('refuses the value of %s = %j at its path', (key, value, message) => {
    expect(rule(key, value)).toEqual([message]);
  });

  it('accepts Latin-1 values, tabs and variables', () => {
    const headerRules = [
      { action: 'set', key: 'X-A', value: 'caf\u00e9\tbar ${GROUP_NAME} ${CLIENT_IP}' },
      { action: 'remove', key: 'X-Forwarded-For' },
    ];
    expect(groupCreateSchema.parse({ ...minimal, headerRules }).headerRules).toEqual(headerRules);
  });

  it.each([
    'Host',
    'host',
    'HOST',
    'Content-Length',
    'Transfer-Encoding',
    'transfer-encoding',
    'TRANSFER-ENCODING',
    'Connection',
    'Upgrade',
    'TE',
    'Trailer',
    'Keep-Alive',
    'Expect',
    'Proxy-Authorization',
    'proxy-connection',
  ])('refuses a rule that sets or removes %s', (key) => {
    for (const action of ['set', 'remove'] as const)
      expect(rule(key, 'v', action)).toEqual([
        `headerRules.0.key: ${key.toLowerCase()} is a framing or hop-by-hop header the gateway manages; a rule cannot set or remove it`,
      ]);
  });

  it('applies the same rules to a PATCH', () => {
    expect(
      issues(groupPatchSchema, { headerRules: [{ action: 'set', key: 'X-A', value: 'a\r\nb' }] }),
    ).toEqual(['headerRules.0.value: must not contain line breaks (CR or LF)']);
  });
});

describe('proxyPool', () => {
  it('accepts proxy URLs and their masked forms, and refuses a proxy listed twice', () => {
    const pool = ['socks5://u:p@10.0.0.1:1080', 'http://…@10.0.0.2:3128'];
    expect(groupCreateSchema.parse({ ...minimal, proxyPool: pool }).proxyPool).toEqual(pool);
    expect(groupCreateSchema.safeParse({ ...minimal, proxyPool: ['ftp://x:1'] }).success).toBe(false);
    expect(groupPatchSchema.safeParse({ proxyPool: ['http://a:1', 'http://a:1'] }).success).toBe(false);
  });
});

describe('tiers and model aliases', () => {
  const aggregate = { name: 'agg', channel: 'openai', type: 'aggregate' };

  it('gives each sub-group a priority (default 1) and refuses one below 1 or not an integer', () => {
    const agg = groupCreateSchema.parse({
      ...aggregate,
      subGroups: [{ groupId: 2 }, { groupId: 3, priority: 2 }],
    });
    expect(agg.subGroups).toEqual([
      { groupId: 2, weight: 1, priority: 1 },
      { groupId: 3, weight: 1, priority: 2 },
    ]);
    expect(issues(groupCreateSchema, { ...aggregate, subGroups: [{ groupId: 2, priority: 0 }] })).toEqual([
      'subGroups.0.priority: Too small: expected number to be >=1',
    ]);
    expect(issues(groupPatchSchema, { subGroups: [{ groupId: 2, priority: 1.5 }] })[0]).toMatch(
      /^subGroups\.0\.priority: /,
    );
  });

  it('accepts aliases of ordered models and refuses self-reference, repeats, control characters and empties', () => {
    const g = groupCreateSchema.parse({ ...minimal, modelAliases: { smart: ['gpt-4.1', 'gpt-4o'] } });
    expect(g.modelAliases).toEqual({ smart: ['gpt-4.1', 'gpt-4o'] });
    expect(issues(groupCreateSchema, { ...minimal, modelAliases: { smart: ['gpt-4o', 'smart'] } })).toEqual([
      'modelAliases.smart.1: an alias may not name itself',
    ]);
    expect(issues(groupPatchSchema, { modelAliases: { smart: ['a', 'a'] } })).toEqual([
      'modelAliases.smart.1: lists a model twice',
    ]);
    expect(issues(groupPatchSchema, { modelAliases: { smart: ['gpt-4o\r\nx-injected: 1'] } })).toEqual([
      'modelAliases.smart.0: must not contain control characters',
    ]);
    expect(issues(groupPatchSchema, { modelAliases: { 'sm\nart': ['gpt-4o'] } })[0]).toMatch(/^modelAliases/);
    expect(issues(groupPatchSchema, { modelAliases: { smart: [] } })[0]).toMatch(/^modelAliases\.smart: /);
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`a${i}`, ['m']]));
    expect(issues(groupPatchSchema, { modelAliases: many })).toEqual(['modelAliases: at most 100 aliases']);
  });
});

describe('proxyForKey', () => {
  const pool = ['socks5://10.0.0.1:1080', 'socks5://10.0.0.2:1080', 'socks5://10.0.0.3:1080'];
  const keys = Array.from({ length: 300 }, (_, i) => i + 1);

  it('pins each key to one proxy of the pool, whatever the order, and spreads the keys over all of them', () => {
    const first = keys.map((k) => proxyForKey(pool, k));
    expect(keys.map((k) => proxyForKey([...pool].reverse(), k))).toEqual(first);
    for (const p of pool) expect(first.filter((x) => x === p).length).toBeGreaterThan(60);
  });

  it('moves only the keys of a removed proxy', () => {
    const before = keys.map((k) => proxyForKey(pool, k));
    const after = keys.map((k) => proxyForKey(pool.slice(0, 2), k));
    const moved = keys.filter((_, i) => after[i] !== before[i]);
    expect(moved.length).toBeGreaterThan(0);
    for (const k of moved) expect(before[k - 1]).toBe(pool[2]);
  });

  it("skips a penalised proxy for the key's next one, and uses its own when all are penalised", () => {
    const key = keys.find((k) => proxyForKey(pool, k) === pool[0]) as number;
    expect(proxyForKey(pool, key, (u) => u === pool[0])).not.toBe(pool[0]);
    expect(proxyForKey(pool, key, () => true)).toBe(pool[0]);
    expect(proxyForKey([], key)).toBeNull();
  });
});

describe('format translation', () => {
  const base = { name: 'g', upstreams: [{ url: 'https://api.example.com' }] };
  it('accepts only the dialects the channel can translate from, naming the entry refused', () => {
    expect(
      groupCreateSchema.safeParse({
        ...base,
        channel: 'gemini',
        translate: { from: ['openai', 'anthropic'] },
      }).success,
    ).toBe(true);
    const openai = groupCreateSchema.safeParse({
      ...base,
      channel: 'openai',
      translate: { from: ['anthropic', 'openai'] },
    });
    expect(openai.success).toBe(false);
    expect(openai.error?.issues.map((i) => i.path.join('.'))).toEqual(['translate.from.1']);
    const responses = groupCreateSchema.safeParse({
      ...base,
      channel: 'openai-response',
      translate: { from: ['openai'] },
    });
    expect(responses.error?.issues[0]?.message).toBe('the openai-response channel does not translate');
    expect(
      groupCreateSchema.safeParse({ ...base, channel: 'gemini', translate: { from: ['openai', 'openai'] } })
        .success,
    ).toBe(false);
    expect(
      groupCreateSchema.safeParse({ ...base, channel: 'gemini', translate: { from: ['cohere'] } }).success,
    ).toBe(false);
  });
});
