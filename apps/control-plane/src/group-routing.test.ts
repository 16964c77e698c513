import type { Group } from '@keyway/contracts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildSnapshot } from './snapshot';
import type { ErrorBody, Fixture } from './testing/fixture';
import { createFixture, standardGroup } from './testing/fixture';
import { createGroupOk, refusal } from './testing/group-requests';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});
afterAll(() => fx.close());
beforeEach(async () => {
  await fx.reset();
});

const create = (body: Record<string, unknown>): Promise<Group> => createGroupOk(fx, body);

describe('aggregate tiers (sub-group priority)', () => {
  it('stores each sub-group priority (default 1), shows it, sends it to the gateway and keeps it on PATCH', async () => {
    const free = await create(standardGroup('free'));
    const paid = await create(standardGroup('paid'));
    const agg = await create({
      name: 'agg',
      type: 'aggregate',
      channel: 'openai',
      subGroups: [{ groupId: free.id }, { groupId: paid.id, weight: 3, priority: 2 }],
    });
    expect(agg.subGroups).toEqual([
      { groupId: free.id, weight: 1, priority: 1, name: 'free' },
      { groupId: paid.id, weight: 3, priority: 2, name: 'paid' },
    ]);
    const snap = await buildSnapshot(fx.db, 1);
    expect(snap.groups.find((g) => g.id === agg.id)?.subGroups).toEqual([
      { groupId: free.id, weight: 1, priority: 1 },
      { groupId: paid.id, weight: 3, priority: 2 },
    ]);

    // A GET sent back unchanged keeps the tiers; a PATCH of the list replaces them.
    const back = await fx.req<Group>('PATCH', `/api/groups/${agg.id}`, { ...agg, description: 'tiers' });
    expect(back.status, back.text).toBe(200);
    expect(back.json.subGroups).toEqual(agg.subGroups);
    const swapped = await fx.req<Group>('PATCH', `/api/groups/${agg.id}`, {
      subGroups: [
        { groupId: free.id, priority: 3 },
        { groupId: paid.id, priority: 1 },
      ],
    });
    expect(swapped.json.subGroups.map((s) => [s.name, s.priority])).toEqual([
      ['free', 3],
      ['paid', 1],
    ]);
  });

  it('refuses a priority below 1 or not an integer, naming the field', async () => {
    const free = await create(standardGroup('free'));
    const res = await fx.req<ErrorBody>('POST', '/api/groups', {
      name: 'agg',
      type: 'aggregate',
      channel: 'openai',
      subGroups: [{ groupId: free.id, priority: 0 }],
    });
    expect(refusal(res)).toEqual(['subGroups.0.priority: Too small: expected number to be >=1']);
    const agg = await create({ name: 'agg', type: 'aggregate', channel: 'openai', subGroups: [] });
    const patch = await fx.req<ErrorBody>('PATCH', `/api/groups/${agg.id}`, {
      subGroups: [{ groupId: free.id, priority: 'first' }],
    });
    expect(refusal(patch)[0]).toMatch(/^subGroups\.0\.priority: /);
  });
});

describe('model aliases', () => {
  it('round-trips aliases through create, GET, PATCH and the snapshot', async () => {
    const g = await create(standardGroup('oa', { modelAliases: { smart: ['gpt-4.1', 'gpt-4o'] } }));
    expect(g.modelAliases).toEqual({ smart: ['gpt-4.1', 'gpt-4o'] });
    const got = await fx.req<Group>('GET', `/api/groups/${g.id}`);
    expect(got.json.modelAliases).toEqual({ smart: ['gpt-4.1', 'gpt-4o'] });
    let snap = await buildSnapshot(fx.db, 1);
    expect(snap.groups.find((s) => s.id === g.id)?.modelAliases).toEqual({ smart: ['gpt-4.1', 'gpt-4o'] });

    const res = await fx.req<Group>('PATCH', `/api/groups/${g.id}`, {
      modelAliases: { fast: ['gpt-4o-mini'] },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.modelAliases).toEqual({ fast: ['gpt-4o-mini'] });
    snap = await buildSnapshot(fx.db, 2);
    expect(snap.groups.find((s) => s.id === g.id)?.modelAliases).toEqual({ fast: ['gpt-4o-mini'] });

    const plain = await create(standardGroup('plain'));
    expect(plain.modelAliases).toEqual({});
  });

  it('refuses an alias naming itself, a model listed twice, CR/LF in names, and an empty list, by field path', async () => {
    const cases: Array<[Record<string, string[]>, string]> = [
      [{ smart: ['gpt-4o', 'smart'] }, 'modelAliases.smart.1: an alias may not name itself'],
      [{ smart: ['gpt-4o', 'gpt-4o'] }, 'modelAliases.smart.1: lists a model twice'],
      [{ smart: ['gpt-4o\r\nx-evil: 1'] }, 'modelAliases.smart.0: must not contain control characters'],
      [{ 'smart\n': ['gpt-4o'] }, 'modelAliases.smart\n: Invalid key in record'],
      [{ smart: [] }, 'modelAliases.smart: Too small: expected array to have >=1 items'],
    ];
    for (const [modelAliases, issue] of cases) {
      const res = await fx.req<ErrorBody>('POST', '/api/groups', standardGroup('oa', { modelAliases }));
      expect(refusal(res)).toContain(issue);
    }
    const list = await fx.req<Group[] | { items: Group[] }>('GET', '/api/groups');
    expect(JSON.stringify(list.json)).not.toContain('"oa"');
  });
});
