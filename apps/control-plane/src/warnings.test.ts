import type { Group, Warning } from '@keyway/contracts';
import { warningsSchema } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from './app';
import type { ControlPlaneDeps } from './context';
import { dashboardRoutes } from './dashboard';
import { plainKeyCipher } from './key-cipher';
import type { Fixture } from './testing/fixture';
import { createFixture, createRequester, standardGroup } from './testing/fixture';
import { proxyKeyWarnings } from './proxy-keys';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(() => fx.reset());

const STRONG_PROXY_KEY = 'kw-Rz7q-Xm4v-Tn8p-Lc2w-Hd6s';

/** The warnings as an app built from `over` sees them (the admin key follows `over.authKey`). */
async function warnings(over: Partial<ControlPlaneDeps> = {}): Promise<Warning[]> {
  const deps = { ...fx.deps, ...over };
  const app = createApp(deps);
  // The mount app.ts gets; once it has it, that one answers first (the same factory either way).
  app.route('/api/dashboard', dashboardRoutes());
  const res = await createRequester(app, deps.authKey)<Warning[]>('GET', '/api/dashboard/warnings');
  expect(res.status, res.text).toBe(200);
  return warningsSchema.parse(res.json);
}

const types = (ws: Warning[]) => ws.map((w) => w.type);

/** Stores proxy keys as the write path will: hash, mask and the weakness judged from the plaintext. */
function stored(values: string[]) {
  const weak = new Map(proxyKeyWarnings(values).map((w) => [w.index, w.reason]));
  return values.map((v, i) => ({
    hash: `hash-${v}`,
    masked: `${v.slice(0, 3)}…${v.slice(-2)}`,
    ...(weak.has(i) ? { weak: weak.get(i) } : {}),
  }));
}

async function setGlobalProxyKeys(values: string[]): Promise<void> {
  const value = JSON.stringify(stored(values));
  await fx.db.setting.upsert({
    where: { key: 'proxyKeys' },
    create: { key: 'proxyKeys', value },
    update: { value },
  });
}

async function create(body: Record<string, unknown>): Promise<Group> {
  const res = await fx.req<Group>('POST', '/api/groups', body);
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function addKeys(groupId: number, keys: string[]): Promise<number[]> {
  const res = await fx.req('POST', `/api/groups/${groupId}/keys`, { keys });
  expect(res.status, res.text).toBeLessThan(300);
  const rows = await fx.db.apiKey.findMany({ where: { groupId }, orderBy: { id: 'asc' } });
  return rows.map((r) => r.id);
}

describe('proxyKeyWarnings', () => {
  it('flags weak values by their index, with the reason', () => {
    expect(proxyKeyWarnings(['sk-short', STRONG_PROXY_KEY, 'password-password-1'])).toEqual([
      { index: 0, reason: 'shorter than 16 characters' },
      { index: 2, reason: expect.stringContaining('common words') as string },
    ]);
  });

  it('passes long random values', () => {
    expect(proxyKeyWarnings([STRONG_PROXY_KEY, 'f3a9c1e5b2d4f60a7e8c9b0d1f2a3b4c'])).toEqual([]);
  });
});

describe('GET /api/dashboard/warnings', () => {
  it('warns about a weak admin key, high when it would be refused, medium when merely short of variety', async () => {
    const refused = (await warnings({ authKey: 'password-password' })).find(
      (w) => w.type === 'AUTH_KEY_WEAK',
    );
    expect(refused).toMatchObject({ severity: 'high' });
    expect(refused?.message).toContain('AUTH_KEY');
    expect(refused?.message).not.toContain('password-password');
    const lowercase = await warnings({ authKey: 'kqzvmxwrtplbngsd' });
    expect(lowercase.find((w) => w.type === 'AUTH_KEY_WEAK')).toMatchObject({ severity: 'medium' });
  });

  it('says nothing about a strong admin key', async () => {
    expect(types(await warnings())).not.toContain('AUTH_KEY_WEAK');
  });

  it('warns while upstream keys are stored unencrypted', async () => {
    expect(types(await warnings())).toContain('ENCRYPTION_DISABLED');
    const encrypted = await warnings({ keyCipher: { ...plainKeyCipher, encrypted: true } });
    expect(types(encrypted)).not.toContain('ENCRYPTION_DISABLED');
  });

  it('warns when there are no proxy keys at all, and stops once one exists', async () => {
    expect(types(await warnings())).toContain('NO_PROXY_KEYS');
    await setGlobalProxyKeys([STRONG_PROXY_KEY]);
    expect(types(await warnings())).not.toContain('NO_PROXY_KEYS');
    await fx.db.setting.deleteMany();
    await create(standardGroup('with-key', { proxyKeys: [STRONG_PROXY_KEY] }));
    expect(types(await warnings())).not.toContain('NO_PROXY_KEYS');
  });

  it('reports global and group proxy keys flagged weak when written, masked', async () => {
    await setGlobalProxyKeys(['sk-weak-1', STRONG_PROXY_KEY]);
    const g = await create(standardGroup('team-a'));
    await fx.db.group.update({
      where: { id: g.id },
      data: { proxyKeys: stored(['changeme-changeme', 'sk-weak-2']) },
    });
    const weak = (await warnings()).filter((w) => w.type === 'PROXY_KEY_WEAK');
    expect(weak).toHaveLength(2);
    expect(weak[0]).toMatchObject({ severity: 'high' });
    expect(weak[0]?.message).toMatch(/^Global proxy keys: a proxy key is weak/);
    expect(weak[0]?.message).toContain('sk-…-1 (shorter than 16 characters)');
    expect(weak[0]?.message).not.toContain(STRONG_PROXY_KEY.slice(0, 3));
    expect(weak[1]?.message).toMatch(/^Group 'team-a': 2 proxy keys are weak/);
    expect(weak[1]?.message).not.toContain('sk-weak-2');
  });

  it('does not flag stored proxy keys without a recorded weakness', async () => {
    await setGlobalProxyKeys([STRONG_PROXY_KEY]);
    await create(standardGroup('team-b', { proxyKeys: [STRONG_PROXY_KEY] }));
    expect(types(await warnings())).not.toContain('PROXY_KEY_WEAK');
  });

  it('warns about a standard group without keys, not about an aggregate', async () => {
    const empty = await create(standardGroup('empty'));
    await create({ name: 'agg', type: 'aggregate', channel: 'openai', subGroups: [{ groupId: empty.id }] });
    const noKeys = (await warnings()).filter((w) => w.type === 'GROUP_NO_KEYS');
    expect(noKeys).toHaveLength(1);
    expect(noKeys[0]).toMatchObject({ severity: 'medium' });
    expect(noKeys[0]?.message).toContain("'empty'");
  });

  it('warns, high, about a group whose keys are all invalid, not one with a key left', async () => {
    const dead = await create(standardGroup('dead'));
    const mixed = await create(standardGroup('mixed'));
    for (const id of await addKeys(dead.id, ['sk-dead-key-00001', 'sk-dead-key-00002']))
      fx.keyPool.setStatus(dead.id, id, 'invalid');
    const [first] = await addKeys(mixed.id, ['sk-mixed-key-0001', 'sk-mixed-key-0002']);
    if (first === undefined) throw new Error('no key');
    fx.keyPool.setStatus(mixed.id, first, 'invalid');
    const invalid = (await warnings()).filter((w) => w.type === 'GROUP_KEYS_INVALID');
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ severity: 'high' });
    expect(invalid[0]?.message).toContain("'dead'");
    expect(types(await warnings())).not.toContain('GROUP_NO_KEYS');
  });

  it('lists high severity first', async () => {
    const dead = await create(standardGroup('dead'));
    for (const id of await addKeys(dead.id, ['sk-dead-key-00001']))
      fx.keyPool.setStatus(dead.id, id, 'invalid');
    const ws = await warnings({ authKey: 'password-password' });
    expect(ws.map((w) => w.severity)).toEqual([...ws.map((w) => w.severity)].sort());
    expect(types(ws)).toEqual([
      'AUTH_KEY_WEAK',
      'ENCRYPTION_DISABLED',
      'GROUP_KEYS_INVALID',
      'NO_PROXY_KEYS',
    ]);
  });
});
