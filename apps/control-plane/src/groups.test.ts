import type { Group } from '@keyway/contracts';
import { hashProxyKey } from '@keyway/keypool';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

const APP_URL = 'http://localhost:3001'; // the appUrl default

async function create(body: Record<string, unknown>): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', body);
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function get(id: number): Promise<Group> {
  const res = await fx.req<Group>('GET', `/api/groups/${id}`);
  expect(res.status, res.text).toBe(200);
  return res.json;
}

/** The proxy-key hashes the gateway gets for a group (what actually authenticates proxy callers). */
async function proxyKeyHashes(id: number): Promise<string[]> {
  const snap = await buildSnapshot(fx.db, 1);
  return snap.groups.find((g) => g.id === id)?.proxyKeyHashes ?? [];
}

/** Asserts a 400 VALIDATION_FAILED with a details list, and returns the details. */
function expectValidation(res: { status: number; json: ErrorBody; text: string }) {
  expect(res.status, res.text).toBe(400);
  expect(res.json.error.code).toBe('VALIDATION_FAILED');
  const details = res.json.error.details ?? [];
  expect(details.length).toBeGreaterThan(0);
  for (const d of details) {
    expect(typeof d.path).toBe('string');
    expect(typeof d.message).toBe('string');
  }
  return details;
}

const FULL = {
  name: 'openai-main',
  displayName: '  OpenAI main  ',
  description: 'Primary pool',
  type: 'standard',
  channel: 'openai',
  upstreams: [
    { url: 'https://api.openai.example/v1', weight: 3 },
    { url: 'http://backup.example:8080/v1', weight: 1 },
  ],
  testModel: 'gpt-4o-mini',
  validationEndpoint: '/v1/models',
  proxyKeys: ['sk-proxy-alpha-0001', 'sk-proxy-bravo-0002'],
  paramOverrides: { temperature: 0.2, top_p: 1 },
  modelRedirects: { 'gpt-4': 'gpt-4o' },
  modelRedirectStrict: true,
  headerRules: [
    { action: 'set', key: 'X-Team', value: 'core' },
    { action: 'remove', key: 'X-Debug' },
  ],
  config: { maxRetries: 5, requestTimeoutSeconds: 30, failoverStatusCodes: '429,500-599' },
  subGroups: [],
};

describe('POST /api/groups', () => {
  it('creates a group: 201, every field echoed, the endpoint, zero key stats, proxy keys masked', async () => {
    const res = await fx.req<Group>('POST', '/api/groups', FULL);
    expect(res.status).toBe(201);
    const g = res.json;
    expect(g).toMatchObject({
      name: 'openai-main',
      displayName: 'OpenAI main',
      description: 'Primary pool',
      type: 'standard',
      channel: 'openai',
      upstreams: FULL.upstreams,
      testModel: 'gpt-4o-mini',
      validationEndpoint: '/v1/models',
      paramOverrides: FULL.paramOverrides,
      modelRedirects: FULL.modelRedirects,
      modelRedirectStrict: true,
      headerRules: FULL.headerRules,
      config: FULL.config,
      subGroups: [],
      endpoint: `${APP_URL}/proxy/openai-main`,
      keyStats: { total: 0, active: 0, cooling: 0, invalid: 0, disabled: 0 },
    });
    expect(g.id).toBeGreaterThan(0);
    expect(typeof g.sort).toBe('number');
    expect(Number.isNaN(Date.parse(g.createdAt))).toBe(false);
    expect(Number.isNaN(Date.parse(g.updatedAt))).toBe(false);
    expect(g.proxyKeys).toHaveLength(2);
    for (const [i, masked] of g.proxyKeys.entries()) {
      const plain = FULL.proxyKeys[i] as string;
      expect(masked).not.toBe(plain);
      expect(masked).toContain('…');
      expect(res.text).not.toContain(plain);
    }
    // Nor in the stored row: only hashes and masks are kept.
    const row = await fx.db.group.findUniqueOrThrow({ where: { id: g.id } });
    const stored = JSON.stringify(row);
    for (const plain of FULL.proxyKeys) expect(stored).not.toContain(plain);
    expect(await proxyKeyHashes(g.id)).toEqual(FULL.proxyKeys.map(hashProxyKey));
    // The list and the single GET show the same masked keys and no plaintext.
    const list = await fx.req('GET', '/api/groups');
    for (const plain of FULL.proxyKeys) expect(list.text).not.toContain(plain);
    expect(await get(g.id)).toEqual(g);
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
  });

  it('fills in the defaults of a minimal group', async () => {
    const g = await create(standardGroup('minimal'));
    expect(g).toMatchObject({
      displayName: '',
      description: '',
      type: 'standard',
      upstreams: [{ url: 'https://api.openai.example/v1', weight: 1 }],
      testModel: '',
      validationEndpoint: '',
      proxyKeys: [],
      paramOverrides: {},
      modelRedirects: {},
      modelRedirectStrict: false,
      headerRules: [],
      config: {},
      subGroups: [],
    });
  });

  it('derives the endpoint from the appUrl setting', async () => {
    const s = await fx.req('PATCH', '/api/settings', { appUrl: 'https://gw.example.com/' });
    expect(s.status).toBe(200);
    const g = await create(standardGroup('ep'));
    expect(g.endpoint).toBe('https://gw.example.com/proxy/ep');
  });

  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['an upper-case name', standardGroup('OpenAI'), 'name'],
    ['a name with a dot', standardGroup('open.ai'), 'name'],
    ['a name with a slash', standardGroup('a/b'), 'name'],
    ['a name with a space', standardGroup('a b'), 'name'],
    ['an empty name', standardGroup(''), 'name'],
    ['a 101-character name', standardGroup('a'.repeat(101)), 'name'],
    ['a missing name', { channel: 'openai', upstreams: [{ url: 'https://a.example' }] }, 'name'],
    ['an unknown channel', standardGroup('g', { channel: 'azure' }), 'channel'],
    ['a number for a name', standardGroup('g', { name: 42 }), 'name'],
    ['a string for upstreams', standardGroup('g', { upstreams: 'https://a.example' }), 'upstreams'],
    [
      'a string for modelRedirectStrict',
      standardGroup('g', { modelRedirectStrict: 'yes' }),
      'modelRedirectStrict',
    ],
    [
      'a non-http upstream',
      standardGroup('g', { upstreams: [{ url: 'ftp://a.example' }] }),
      'upstreams.0.url',
    ],
    [
      'an upstream with a query',
      standardGroup('g', { upstreams: [{ url: 'https://a.example/?x=1' }] }),
      'upstreams.0.url',
    ],
    [
      'a negative upstream weight',
      standardGroup('g', { upstreams: [{ url: 'https://a.example', weight: -1 }] }),
      'upstreams.0.weight',
    ],
    ['a 2001-character description', standardGroup('g', { description: 'd'.repeat(2001) }), 'description'],
    ['a 256-character display name', standardGroup('g', { displayName: 'd'.repeat(256) }), 'displayName'],
    ['a 513-character proxy key', standardGroup('g', { proxyKeys: ['k'.repeat(513)] }), 'proxyKeys.0'],
    ['an empty proxy key', standardGroup('g', { proxyKeys: ['  '] }), 'proxyKeys.0'],
    [
      'a config value below its minimum',
      standardGroup('g', { config: { maxRetries: -1 } }),
      'config.maxRetries',
    ],
    [
      'a global-only setting in config',
      standardGroup('g', { config: { appUrl: 'https://x.example' } }),
      'config',
    ],
    [
      'a bad failover spec in config',
      standardGroup('g', { config: { failoverStatusCodes: '99' } }),
      'config.failoverStatusCodes',
    ],
    [
      'an invalid header name',
      standardGroup('g', { headerRules: [{ action: 'set', key: 'Bad Header', value: 'x' }] }),
      'headerRules.0',
    ],
    ['a standard group without upstreams', standardGroup('g', { upstreams: [] }), 'upstreams'],
    ['a standard group with sub-groups', standardGroup('g', { subGroups: [{ groupId: 1 }] }), 'subGroups'],
    [
      'an aggregate with upstreams',
      { name: 'agg', type: 'aggregate', channel: 'openai', upstreams: [{ url: 'https://a.example' }] },
      'upstreams',
    ],
    [
      'duplicate header-rule keys (case-insensitive)',
      standardGroup('g', {
        headerRules: [
          { action: 'set', key: 'X-Team', value: 'a' },
          { action: 'remove', key: 'x-team' },
        ],
      }),
      'headerRules.1.key',
    ],
  ];

  it.each(invalid)('refuses %s with 400 VALIDATION_FAILED and creates nothing', async (_what, body, path) => {
    const res = await fx.req<ErrorBody>('POST', '/api/groups', body);
    const details = expectValidation(res);
    expect(
      details.some((d) => d.path.startsWith(path)),
      JSON.stringify(details),
    ).toBe(true);
    expect(await fx.db.group.count()).toBe(0);
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('refuses unknown fields with 400, naming the field', async () => {
    const res = await fx.req<ErrorBody>('POST', '/api/groups', standardGroup('g', { colour: 'red' }));
    const details = expectValidation(res);
    expect(JSON.stringify(details)).toContain('colour');
    expect(await fx.db.group.count()).toBe(0);
  });

  it('refuses unknown fields inside upstreams, header rules and sub-group refs', async () => {
    for (const body of [
      standardGroup('g', { upstreams: [{ url: 'https://a.example', weight: 1, region: 'eu' }] }),
      standardGroup('g', { headerRules: [{ action: 'set', key: 'X-A', value: 'v', when: 'always' }] }),
      standardGroup('g', { config: { maxRetries: 1, bogus: true } }),
    ]) {
      expectValidation(await fx.req<ErrorBody>('POST', '/api/groups', body));
    }
    expect(await fx.db.group.count()).toBe(0);
  });

  it('refuses a body that is not JSON with 400 VALIDATION_FAILED', async () => {
    for (const raw of ['{"name":', 'name=x', '{"name":"x",}']) {
      const res = await fx.req<ErrorBody>('POST', '/api/groups', undefined, { raw });
      expectValidation(res);
    }
    expect(await fx.db.group.count()).toBe(0);
  });

  it('refuses a JSON body that is not an object with 400', async () => {
    for (const raw of ['[]', 'null', '"group"', '42']) {
      expectValidation(await fx.req<ErrorBody>('POST', '/api/groups', undefined, { raw }));
    }
  });

  it('refuses a duplicate name with 409 CONFLICT', async () => {
    await create(standardGroup('dup'));
    fx.onConfigChanged.mockClear();
    const res = await fx.req<ErrorBody>(
      'POST',
      '/api/groups',
      standardGroup('dup', { channel: 'anthropic' }),
    );
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('CONFLICT');
    expect(await fx.db.group.count()).toBe(1);
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
    expect(fx.loggedErrors).toEqual([]);
  });

  it('ignores read-only fields sent with a create', async () => {
    const g = await create(
      standardGroup('ro', {
        id: 999,
        endpoint: 'https://evil.example',
        keyStats: { total: 99 },
        sort: -5,
        createdAt: '2000-01-01T00:00:00.000Z',
      }),
    );
    expect(g.id).not.toBe(999);
    expect(g.endpoint).toBe(`${APP_URL}/proxy/ro`);
    expect(g.keyStats.total).toBe(0);
    expect(g.createdAt).not.toBe('2000-01-01T00:00:00.000Z');
  });
});

describe('GET /api/groups', () => {
  it('lists groups in display (creation) order', async () => {
    const names = ['zeta', 'alpha', 'mid'];
    for (const n of names) await create(standardGroup(n));
    const res = await fx.req<{ items: Group[] }>('GET', '/api/groups');
    expect(res.status).toBe(200);
    expect(res.json.items.map((g) => g.name)).toEqual(names);
    const sorts = res.json.items.map((g) => g.sort);
    expect([...sorts].sort((a, b) => a - b)).toEqual(sorts);
  });

  it('shows live key stats in the list and in a single group', async () => {
    const g = await create(standardGroup('stats'));
    expect((await fx.req('POST', `/api/groups/${g.id}/keys`, { keys: 'k-one k-two k-three' })).status).toBe(
      200,
    );
    const ids = (await fx.db.apiKey.findMany({ where: { groupId: g.id }, orderBy: { id: 'asc' } })).map(
      (k) => k.id,
    );
    fx.keyPool.setStatus(g.id, ids[0] as number, 'disabled');
    const expected = { total: 3, active: 2, cooling: 0, invalid: 0, disabled: 1 };
    expect((await get(g.id)).keyStats).toEqual(expected);
    const list = await fx.req<{ items: Group[] }>('GET', '/api/groups');
    expect(list.json.items[0]?.keyStats).toEqual(expected);
  });

  it('answers an unknown group id with 404 NOT_FOUND', async () => {
    const res = await fx.req<ErrorBody>('GET', '/api/groups/424242');
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('NOT_FOUND');
  });

  it.each(['abc', '-1', '0', '1.5', '01', '99999999999', '2147483648', '1e3'])(
    'answers the malformed id %s with 404 NOT_FOUND, never 400 or 500',
    async (id) => {
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        const res = await fx.req<ErrorBody>(method, `/api/groups/${id}`, method === 'PATCH' ? {} : undefined);
        expect(res.status, `${method} ${id}`).toBe(404);
        expect(res.json.error.code).toBe('NOT_FOUND');
      }
      expect(fx.loggedErrors).toEqual([]);
    },
  );
});

describe('PATCH /api/groups/{id}', () => {
  it('changes only the fields sent', async () => {
    const g = await create(FULL);
    fx.onConfigChanged.mockClear();
    const res = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, {
      description: 'changed',
      testModel: 'gpt-x',
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      ...g,
      description: 'changed',
      testModel: 'gpt-x',
      updatedAt: res.json.updatedAt,
    });
    expect(await get(g.id)).toEqual(res.json);
    expect(await proxyKeyHashes(g.id)).toEqual(FULL.proxyKeys.map(hashProxyKey));
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
  });

  it('accepts the full GET response sent back and keeps the proxy keys working', async () => {
    const g = await create(FULL);
    fx.onConfigChanged.mockClear();
    const back = await get(g.id);
    const res = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, { ...back, description: 'edited' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.proxyKeys).toEqual(g.proxyKeys);
    expect(res.json.description).toBe('edited');
    expect(await proxyKeyHashes(g.id)).toEqual(FULL.proxyKeys.map(hashProxyKey));
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
    const again = await get(g.id);
    expect(again).toEqual(res.json);
    expect(again.id).toBe(g.id);
    expect(again.sort).toBe(g.sort);
  });

  it('replaces the proxy key set when proxyKeys is sent', async () => {
    const g = await create(FULL);
    const fresh = 'sk-proxy-charlie-0003';
    const res = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, { proxyKeys: [fresh] });
    expect(res.status).toBe(200);
    expect(res.json.proxyKeys).toHaveLength(1);
    expect(res.text).not.toContain(fresh);
    expect(await proxyKeyHashes(g.id)).toEqual([hashProxyKey(fresh)]);
  });

  it('keeps a proxy key sent back masked next to a new plaintext one', async () => {
    const g = await create(FULL);
    const fresh = 'sk-proxy-charlie-0003';
    const res = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, { proxyKeys: [g.proxyKeys[1], fresh] });
    expect(res.status).toBe(200);
    expect(await proxyKeyHashes(g.id)).toEqual([
      hashProxyKey(FULL.proxyKeys[1] as string),
      hashProxyKey(fresh),
    ]);
  });

  it('clears the proxy keys with an empty list', async () => {
    const g = await create(FULL);
    const res = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, { proxyKeys: [] });
    expect(res.json.proxyKeys).toEqual([]);
    expect(await proxyKeyHashes(g.id)).toEqual([]);
  });

  it('keeps both proxy keys on a round trip when their masks collide', async () => {
    const keys = ['sk-proxy-team-a-key1', 'sk-proxy-team-b-key1'];
    const g = await create(standardGroup('collide', { proxyKeys: keys }));
    expect(g.proxyKeys[0]).toBe(g.proxyKeys[1]);
    const res = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, await get(g.id));
    expect(res.status).toBe(200);
    expect(await proxyKeyHashes(g.id)).toEqual(keys.map(hashProxyKey));
  });

  it('applies the same validation as create and changes nothing on a 400', async () => {
    const g = await create(FULL);
    fx.onConfigChanged.mockClear();
    const bad: Array<Record<string, unknown>> = [
      { name: 'Bad Name' },
      { colour: 'red' },
      { upstreams: [] },
      { upstreams: [{ url: 'not a url' }] },
      { modelRedirectStrict: 'no' },
      { description: 'd'.repeat(2001) },
      { type: 'aggregate' },
      { subGroups: [{ groupId: g.id }] },
      {
        headerRules: [
          { action: 'set', key: 'A', value: '1' },
          { action: 'set', key: 'a', value: '2' },
        ],
      },
      { config: { maxRetries: 51 } },
    ];
    for (const body of bad) {
      const res = await fx.req<ErrorBody>('PATCH', `/api/groups/${g.id}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.code).toBe('VALIDATION_FAILED');
    }
    expect(await get(g.id)).toEqual(g);
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('refuses a body that is not JSON with 400', async () => {
    const g = await create(standardGroup('nj'));
    expectValidation(await fx.req<ErrorBody>('PATCH', `/api/groups/${g.id}`, undefined, { raw: '{nope' }));
  });

  it('renames a group and moves its endpoint; a rename onto another name is 409', async () => {
    const a = await create(standardGroup('first'));
    await create(standardGroup('second'));
    const renamed = await fx.req<Group>('PATCH', `/api/groups/${a.id}`, { name: 'primary' });
    expect(renamed.status).toBe(200);
    expect(renamed.json.endpoint).toBe(`${APP_URL}/proxy/primary`);
    fx.onConfigChanged.mockClear();
    const clash = await fx.req<ErrorBody>('PATCH', `/api/groups/${a.id}`, { name: 'second' });
    expect(clash.status).toBe(409);
    expect(clash.json.error.code).toBe('CONFLICT');
    expect((await get(a.id)).name).toBe('primary');
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('answers a PATCH of an unknown group with 404', async () => {
    const res = await fx.req<ErrorBody>('PATCH', '/api/groups/424242', { description: 'x' });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('NOT_FOUND');
  });
});

describe('aggregate groups', () => {
  async function aggregateSetup() {
    const a = await create(standardGroup('sub-a'));
    const b = await create(standardGroup('sub-b'));
    const other = await create(standardGroup('sub-claude', { channel: 'anthropic' }));
    const agg = await create({
      name: 'agg',
      type: 'aggregate',
      channel: 'openai',
      subGroups: [
        { groupId: a.id, weight: 2 },
        { groupId: b.id, weight: 1 },
      ],
    });
    return { a, b, other, agg };
  }

  it('creates an aggregate over standard groups of the same channel, naming them', async () => {
    const { a, b, agg } = await aggregateSetup();
    expect(agg).toMatchObject({
      type: 'aggregate',
      upstreams: [],
      subGroups: [
        { groupId: a.id, weight: 2, priority: 1, name: 'sub-a' },
        { groupId: b.id, weight: 1, priority: 1, name: 'sub-b' },
      ],
    });
    expect(await get(agg.id)).toEqual(agg);
    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.groups.find((g) => g.id === agg.id)?.subGroups).toEqual([
      { groupId: a.id, weight: 2, priority: 1 },
      { groupId: b.id, weight: 1, priority: 1 },
    ]);
  });

  it('refuses a sub-group of another channel, an aggregate, a missing group or the group itself', async () => {
    const { a, b, other, agg } = await aggregateSetup();
    fx.onConfigChanged.mockClear();
    const cases: Array<[string, string, unknown]> = [
      [
        'POST',
        '/api/groups',
        { name: 'x1', type: 'aggregate', channel: 'openai', subGroups: [{ groupId: other.id }] },
      ],
      [
        'POST',
        '/api/groups',
        { name: 'x2', type: 'aggregate', channel: 'openai', subGroups: [{ groupId: agg.id }] },
      ],
      [
        'POST',
        '/api/groups',
        { name: 'x3', type: 'aggregate', channel: 'openai', subGroups: [{ groupId: 424242 }] },
      ],
      [
        'POST',
        '/api/groups',
        {
          name: 'x4',
          type: 'aggregate',
          channel: 'openai',
          subGroups: [{ groupId: a.id }, { groupId: a.id }],
        },
      ],
      ['PATCH', `/api/groups/${agg.id}`, { subGroups: [{ groupId: agg.id }] }],
      ['PATCH', `/api/groups/${agg.id}`, { subGroups: [{ groupId: other.id }] }],
      ['PATCH', `/api/groups/${agg.id}`, { subGroups: [{ groupId: 424242 }] }],
      ['PATCH', `/api/groups/${agg.id}`, { upstreams: [{ url: 'https://a.example' }] }],
    ];
    for (const [method, path, body] of cases) {
      const res = await fx.req<ErrorBody>(method, path, body);
      expect(res.status, `${method} ${JSON.stringify(body)}: ${res.text}`).toBe(400);
      expect(res.json.error.code).toBe('VALIDATION_FAILED');
      expect(res.json.error.details?.[0]?.path).toMatch(/^(subGroups|upstreams)/);
    }
    expect(await fx.db.group.count()).toBe(4);
    expect((await get(agg.id)).subGroups.map((s) => s.groupId)).toEqual([a.id, b.id]);
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('replaces the sub-group list on PATCH', async () => {
    const { b, agg } = await aggregateSetup();
    const res = await fx.req<Group>('PATCH', `/api/groups/${agg.id}`, {
      subGroups: [{ groupId: b.id, weight: 7 }],
    });
    expect(res.status).toBe(200);
    expect(res.json.subGroups).toEqual([{ groupId: b.id, weight: 7, priority: 1, name: 'sub-b' }]);
  });

  it('accepts an aggregate GET response sent back as a PATCH', async () => {
    const { agg } = await aggregateSetup();
    const back = await get(agg.id);
    const res = await fx.req<Group>('PATCH', `/api/groups/${agg.id}`, { ...back, description: 'edited' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.subGroups).toEqual(agg.subGroups);
  });

  it('refuses to change the channel of a group an aggregate uses (409) but allows other edits', async () => {
    const { a } = await aggregateSetup();
    fx.onConfigChanged.mockClear();
    const res = await fx.req<ErrorBody>('PATCH', `/api/groups/${a.id}`, { channel: 'anthropic' });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('CONFLICT');
    expect((await get(a.id)).channel).toBe('openai');
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
    const same = await fx.req<Group>('PATCH', `/api/groups/${a.id}`, {
      channel: 'openai',
      description: 'ok',
    });
    expect(same.status).toBe(200);
  });

  it('lets an unused standard group change channel', async () => {
    const { other } = await aggregateSetup();
    const res = await fx.req<Group>('PATCH', `/api/groups/${other.id}`, { channel: 'gemini' });
    expect(res.status).toBe(200);
    expect(res.json.channel).toBe('gemini');
  });

  it('refuses to change the channel of an aggregate whose sub-groups stay on the old channel', async () => {
    const { agg } = await aggregateSetup();
    const res = await fx.req<ErrorBody>('PATCH', `/api/groups/${agg.id}`, { channel: 'anthropic' });
    expect(res.status).toBe(400);
    expect((await get(agg.id)).channel).toBe('openai');
  });

  it('refuses to delete a group an aggregate uses (409), naming the aggregate', async () => {
    const { a } = await aggregateSetup();
    fx.onConfigChanged.mockClear();
    const res = await fx.req<ErrorBody>('DELETE', `/api/groups/${a.id}`);
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('CONFLICT');
    expect(res.json.error.message).toContain('agg');
    expect((await fx.req('GET', `/api/groups/${a.id}`)).status).toBe(200);
    expect(fx.onConfigChanged).not.toHaveBeenCalled();
  });

  it('deletes an aggregate and then its former sub-groups', async () => {
    const { a, agg } = await aggregateSetup();
    expect((await fx.req('DELETE', `/api/groups/${agg.id}`)).status).toBe(204);
    expect((await fx.req('DELETE', `/api/groups/${a.id}`)).status).toBe(204);
  });
});

describe('DELETE /api/groups/{id}', () => {
  it('deletes a group: 204, then 404, its keys gone from the database and the pool', async () => {
    const g = await create(standardGroup('doomed'));
    await fx.req('POST', `/api/groups/${g.id}/keys`, { keys: 'k-aaaaaaaaaaaaaaaa k-bbbbbbbbbbbbbbbb' });
    expect(fx.keyPool.stats(g.id).total).toBe(2);
    fx.onConfigChanged.mockClear();
    const res = await fx.req('DELETE', `/api/groups/${g.id}`);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
    expect((await fx.req('GET', `/api/groups/${g.id}`)).status).toBe(404);
    expect((await fx.req('DELETE', `/api/groups/${g.id}`)).status).toBe(404);
    expect(await fx.db.apiKey.count({ where: { groupId: g.id } })).toBe(0);
    expect(fx.keyPool.stats(g.id).total).toBe(0);
    expect(fx.keyPool.pick(g.id)).toEqual({ ok: false, reason: 'empty' });
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(1);
  });
});

describe('configuration change notifications', () => {
  it('calls onConfigChanged once per successful group write, after the write is visible', async () => {
    let seen: string[] = [];
    fx.onConfigChanged.mockImplementation(async () => {
      seen = (await fx.db.group.findMany({ orderBy: { id: 'asc' } })).map(
        (g) => `${g.name}:${g.description}`,
      );
    });
    const g = await create(standardGroup('notify'));
    expect(seen).toEqual(['notify:']);
    await fx.req('PATCH', `/api/groups/${g.id}`, { description: 'v2' });
    expect(seen).toEqual(['notify:v2']);
    await fx.req('DELETE', `/api/groups/${g.id}`);
    expect(seen).toEqual([]);
    expect(fx.onConfigChanged).toHaveBeenCalledTimes(3);
    fx.onConfigChanged.mockImplementation(() => Promise.resolve());
  });

  it('writes an audit entry per change without secrets', async () => {
    const g = await create(FULL);
    await fx.req('PATCH', `/api/groups/${g.id}`, { proxyKeys: ['sk-proxy-delta-0004'] });
    const audit = await fx.db.auditLog.findMany({ orderBy: { id: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(['group.create', 'group.update']);
    const text = JSON.stringify(audit);
    for (const plain of [...FULL.proxyKeys, 'sk-proxy-delta-0004']) expect(text).not.toContain(plain);
  });
});

describe('smarter pool fields (keyLimits, affinity, dailyResetTimeZone, retryOnEmpty)', () => {
  const base = { name: 'pool', channel: 'gemini', upstreams: [{ url: 'https://g.example', weight: 1 }] };

  it('defaults: no key limits, affinity off, the channel default zone resolved only in the snapshot', async () => {
    const g = await create(base);
    expect(g.keyLimits).toBeNull();
    expect(g.affinity).toEqual({ mode: 'off', header: 'x-session-id', ttlSeconds: 3600 });
    expect(g.dailyResetTimeZone).toBeNull();
    const snap = await buildSnapshot(fx.db, 1);
    const sg = snap.groups.find((s) => s.id === g.id);
    expect(sg?.dailyResetTimeZone).toBe('America/Los_Angeles');
    expect(sg?.keyLimits).toBeNull();
  });

  it('stores, returns and snapshots them; PATCH changes one and keeps the others', async () => {
    const g = await create({
      ...base,
      keyLimits: {
        default: { rpm: 10, tpm: 250000, rpd: 250 },
        models: { 'gemini-2.5-pro': { rpm: 5, rpd: 100 } },
        total: { rpm: 30 },
      },
      affinity: { mode: 'session', header: 'X-Conversation', ttlSeconds: 600 },
      dailyResetTimeZone: 'Europe/Berlin',
      config: { retryOnEmpty: true },
    });
    expect(g.keyLimits).toEqual({
      default: { rpm: 10, tpm: 250000, rpd: 250 },
      models: { 'gemini-2.5-pro': { rpm: 5, tpm: null, rpd: 100 } },
      total: { rpm: 30, tpm: null, rpd: null },
    });
    expect(g.affinity).toEqual({ mode: 'session', header: 'x-conversation', ttlSeconds: 600 });
    expect(g.config.retryOnEmpty).toBe(true);
    const snap = await buildSnapshot(fx.db, 1);
    const sg = snap.groups.find((s) => s.id === g.id);
    expect(sg?.dailyResetTimeZone).toBe('Europe/Berlin');
    expect(sg?.affinity.mode).toBe('session');
    expect(sg?.keyLimits?.total?.rpm).toBe(30);

    const res = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, { keyLimits: null });
    expect(res.status, res.text).toBe(200);
    const after = await get(g.id);
    expect(after.keyLimits).toBeNull();
    expect(after.affinity.mode).toBe('session');
    expect(after.dailyResetTimeZone).toBe('Europe/Berlin');
  });

  it('refuses what cannot take effect, naming the field', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ dailyResetTimeZone: 'Mars/Olympus' }, 'dailyResetTimeZone'],
      [{ dailyResetTimeZone: 'UTC\r\nX-Evil: 1' }, 'dailyResetTimeZone'],
      [{ keyLimits: { default: { rpm: 0 } } }, 'keyLimits.default.rpm'],
      [{ keyLimits: { default: { rpm: 1.5 } } }, 'keyLimits.default.rpm'],
      [{ keyLimits: { default: { rps: 3 } } }, 'keyLimits.default'],
      [{ keyLimits: { models: { 'bad\nmodel': { rpm: 1 } } } }, 'keyLimits.models'],
      [{ affinity: { mode: 'sticky' } }, 'affinity.mode'],
      [{ affinity: { mode: 'session', header: 'x-session\r\nid' } }, 'affinity.header'],
      [{ affinity: { mode: 'session', ttlSeconds: 0 } }, 'affinity.ttlSeconds'],
      [{ config: { retryOnEmpty: 'yes' } }, 'config.retryOnEmpty'],
    ];
    for (const [fields, path] of bad) {
      const details = expectValidation(
        await fx.req<ErrorBody>('POST', '/api/groups', { ...base, ...fields }),
      );
      expect(
        details.some((d) => d.path.startsWith(path)),
        `${JSON.stringify(fields)} → ${JSON.stringify(details)}`,
      ).toBe(true);
    }
  });
});
