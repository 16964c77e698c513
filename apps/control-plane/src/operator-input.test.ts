import type { Group, Settings } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot';
import type { ErrorBody, Fixture } from './testing/fixture';
import { AUTH_KEY, createFixture, standardGroup } from './testing/fixture';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

const STRONG = 'kw-Rz7q-Xm4v-Tn8p-Lc2w-Hd6s';

/** The `path: message` pairs of a 400 VALIDATION_FAILED. */
function problems(res: { status: number; json: ErrorBody; text: string }): string[] {
  expect(res.status, res.text).toBe(400);
  expect(res.json.error.code).toBe('VALIDATION_FAILED');
  return (res.json.error.details ?? []).map((d) => `${d.path}: ${d.message}`);
}

const createGroup = (body: Record<string, unknown>) => fx.req<Group & ErrorBody>('POST', '/api/groups', body);

describe('header rules written through the API', () => {
  it.each([
    ['a CR/LF in a value', { action: 'set', key: 'X-A', value: 'a\r\nX-Injected: 1' }, 'headerRules.0.value'],
    ['a NUL in a value', { action: 'set', key: 'X-A', value: 'a\u0000b' }, 'headerRules.0.value'],
    ['a value above Latin-1', { action: 'set', key: 'X-A', value: '\u4f60\u597d' }, 'headerRules.0.value'],
    ['Host', { action: 'set', key: 'Host', value: 'evil.example' }, 'headerRules.0.key'],
    ['Transfer-Encoding', { action: 'set', key: 'Transfer-Encoding', value: 'chunked' }, 'headerRules.0.key'],
    ['removing content-length', { action: 'remove', key: 'CONTENT-LENGTH' }, 'headerRules.0.key'],
  ])('refuses %s with the rule path, storing nothing', async (_what, rule, path) => {
    const res = await createGroup(standardGroup('g', { headerRules: [rule] }));
    expect(problems(res)[0]).toMatch(new RegExp(`^${path.replaceAll('.', '\\.')}: `));
    expect(await fx.db.group.count()).toBe(0);
  });

  it('refuses a bad rule on PATCH and keeps the stored rules', async () => {
    const rules = [{ action: 'set', key: 'X-Team', value: '${GROUP_NAME}' }];
    const g = (await createGroup(standardGroup('g', { headerRules: rules }))).json;
    const res = await fx.req<ErrorBody>('PATCH', `/api/groups/${g.id}`, {
      headerRules: [...rules, { action: 'set', key: 'x-b', value: 'v\n' }],
    });
    expect(problems(res)).toEqual(['headerRules.1.value: must not contain line breaks (CR or LF)']);
    expect((await fx.req<Group>('GET', `/api/groups/${g.id}`)).json.headerRules).toEqual(rules);
  });
});

describe('upstream URLs and the egress policy', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://2852039166/',
    'http://0251.0376.0251.0376/',
    'http://0xa9.0xfe.0xa9.0xfe/',
    'http://[::ffff:169.254.169.254]/',
    'http://[fd00:ec2::254]/',
    'http://metadata.google.internal/',
    'http://metadata.goog/',
  ])('refuses the metadata upstream %s at upstreams.N.url', async (url) => {
    const res = await createGroup(
      standardGroup('g', { upstreams: [{ url: 'https://api.openai.example' }, { url }] }),
    );
    expect(problems(res)).toEqual([
      expect.stringMatching(/^upstreams\.1\.url: not allowed: .*never allowed/),
    ]);
  });

  it('refuses credentials in an upstream URL without echoing them', async () => {
    const res = await createGroup(
      standardGroup('g', { upstreams: [{ url: 'http://user:hunter2@api.example' }] }),
    );
    expect(problems(res)).toEqual([
      'upstreams.0.url: must not contain a user name or password: credentials belong in keys or header rules',
    ]);
    expect(res.text).not.toContain('hunter2');
  });

  it('refuses CR/LF in an upstream URL', async () => {
    const res = await createGroup(
      standardGroup('g', { upstreams: [{ url: 'http://api.example/v1\r\nHost: x' }] }),
    );
    expect(problems(res)[0]).toMatch(/^upstreams\.0\.url: must not contain spaces, line breaks/);
  });

  it('masks credentials of an upstream URL stored before they were refused', async () => {
    const g = (await createGroup(standardGroup('g'))).json;
    await fx.db.group.update({
      where: { id: g.id },
      data: { upstreams: [{ url: 'http://user:hunter2@api.example/v1', weight: 1 }] },
    });
    const res = await fx.req<Group>('GET', `/api/groups/${g.id}`);
    expect(res.json.upstreams[0]?.url).toBe('http://***@api.example/v1');
    expect((await fx.req('GET', '/api/groups')).text).not.toContain('hunter2');
  });

  it('allows loopback and private upstreams by default and refuses them with egressBlockPrivate', async () => {
    const local = standardGroup('local', { upstreams: [{ url: 'http://127.0.0.1:11434' }] });
    expect((await createGroup(local)).status).toBe(201);
    const on = await fx.req<{ values: Settings }>('PATCH', '/api/settings', { egressBlockPrivate: true });
    expect(on.json.values.egressBlockPrivate).toBe(true);
    for (const url of [
      'http://127.0.0.1:11434',
      'http://localhost:11434',
      'http://10.0.0.8',
      'http://[::1]:80',
    ]) {
      const res = await createGroup(standardGroup('private', { upstreams: [{ url }] }));
      expect(problems(res)).toEqual([expect.stringMatching(/^upstreams\.0\.url: .*egressBlockPrivate/)]);
    }
    expect((await buildSnapshot(fx.db, 1)).settings.egressBlockPrivate).toBe(true);
  });

  it('refuses an upstream on the port the admin API (and in standalone, /proxy) listens on', async () => {
    const body = JSON.stringify(standardGroup('loop', { upstreams: [{ url: 'http://127.0.0.1:3001/v1' }] }));
    const res = await fx.app.request(
      '/api/groups',
      {
        method: 'POST',
        headers: { authorization: `Bearer ${AUTH_KEY}`, 'content-type': 'application/json' },
        body,
      },
      { incoming: { socket: { localPort: 3001, remoteAddress: '127.0.0.1' } } },
    );
    const json = (await res.json()) as ErrorBody;
    expect(problems({ status: res.status, json, text: '' })).toEqual([
      expect.stringMatching(/^upstreams\.0\.url: .*this gateway itself \(port 3001\)/),
    ]);
  });

  it('refuses an upstream at appUrl once appUrl is set', async () => {
    await fx.req('PATCH', '/api/settings', { appUrl: 'https://gw.example.com' });
    const res = await createGroup(
      standardGroup('loop', { upstreams: [{ url: 'https://gw.example.com/proxy/x' }] }),
    );
    expect(problems(res)).toEqual([expect.stringMatching(/appUrl/)]);
  });

  it('checks upstreams on PATCH too', async () => {
    const g = (await createGroup(standardGroup('g'))).json;
    const res = await fx.req<ErrorBody>('PATCH', `/api/groups/${g.id}`, {
      upstreams: [{ url: 'http://169.254.169.254' }],
    });
    expect(problems(res)[0]).toMatch(/^upstreams\.0\.url: /);
  });
});

describe('proxy key strength', () => {
  it.each([
    ['a', 'shorter than 16 characters'],
    ['password', 'shorter than 16 characters'],
    ['passwordpassword', 'made mostly of common words'],
    ['1234567890abcdefgh', 'made mostly of'],
  ])('refuses the global proxy key %j, saying why without quoting it', async (key, why) => {
    const res = await fx.req<ErrorBody>('PATCH', '/api/settings', { proxyKeys: [STRONG, key] });
    const [problem] = problems(res);
    expect(problem).toMatch(/^proxyKeys\.1: too weak \(/);
    expect(problem).toContain(why);
    expect(res.text.replace(/common words|characters/g, '')).not.toContain(`"${key}"`);
    expect(res.text).not.toContain(`${key}"`);
    expect((await fx.req<{ values: Settings }>('GET', '/api/settings')).json.values.proxyKeys).toEqual([]);
  });

  it('accepts a strong key and keeps it when its masked form is sent back', async () => {
    const first = await fx.req<{ values: Settings }>('PATCH', '/api/settings', { proxyKeys: [STRONG] });
    expect(first.status, first.text).toBe(200);
    const masked = first.json.values.proxyKeys;
    const again = await fx.req<{ values: Settings }>('PATCH', '/api/settings', { proxyKeys: masked });
    expect(again.status, again.text).toBe(200);
    expect((await buildSnapshot(fx.db, 1)).proxyKeyHashes).toHaveLength(1);
  });

  it('keeps a weak key stored before the rule when its masked form is sent back', async () => {
    await fx.db.setting.create({
      data: {
        key: 'proxyKeys',
        value: JSON.stringify([{ hash: 'h-weak', masked: 'a…', weak: 'shorter than 16 characters' }]),
      },
    });
    const res = await fx.req<{ values: Settings }>('PATCH', '/api/settings', { proxyKeys: ['a…', STRONG] });
    expect(res.status, res.text).toBe(200);
    expect((await buildSnapshot(fx.db, 1)).proxyKeyHashes[0]).toBe('h-weak');
  });

  it('refuses weak group proxy keys on create and update', async () => {
    const created = await createGroup(standardGroup('g', { proxyKeys: ['team-a'] }));
    expect(problems(created)).toEqual([expect.stringMatching(/^proxyKeys\.0: too weak/)]);
    const g = (await createGroup(standardGroup('g', { proxyKeys: [STRONG] }))).json;
    const res = await fx.req<ErrorBody>('PATCH', `/api/groups/${g.id}`, {
      proxyKeys: [g.proxyKeys[0], 'admin'],
    });
    expect(problems(res)).toEqual([expect.stringMatching(/^proxyKeys\.1: too weak/)]);
    const kept = await fx.req<ErrorBody>('PATCH', `/api/groups/${g.id}`, { proxyKeys: g.proxyKeys });
    expect(kept.status, kept.text).toBe(200);
  });
});

describe('proxyUrl', () => {
  it('is offered as a secret a group may override; a URL that is not a proxy URL is refused', async () => {
    const s = await fx.req<{ schema: Array<{ key: string; secret?: boolean; groupOverridable: boolean }> }>(
      'GET',
      '/api/settings',
    );
    expect(s.json.schema.find((e) => e.key === 'proxyUrl')).toMatchObject({
      secret: true,
      groupOverridable: true,
    });
    const res = await fx.req<ErrorBody>('PATCH', '/api/settings', { proxyUrl: 'ftp://proxy.example:21' });
    expect(problems(res)).toEqual([
      expect.stringMatching(/^proxyUrl: must be an http:\/\/, https:\/\/, socks5:\/\//),
    ]);
    expect((await createGroup(standardGroup('g', { config: { proxyUrl: 'socks5://p:1080' } }))).status).toBe(
      201,
    );
  });

  it('reads an empty proxyUrl (what a console sends for none) as unset', async () => {
    const res = await fx.req<{ values: Settings }>('PATCH', '/api/settings', { proxyUrl: '', maxRetries: 4 });
    expect(res.status, res.text).toBe(200);
    expect(res.json.values).toMatchObject({ maxRetries: 4, proxyUrl: null });
  });
});
