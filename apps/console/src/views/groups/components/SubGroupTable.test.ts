import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { json, stubFetch } from '../../../testing/fetch-stub';
import { group } from '../../../testing/fixtures';
import { byTestId, mountWithApp, settle, typeInto } from '../../../testing/mount';
import SubGroupTable from './SubGroupTable.vue';

// Element Plus tables are slow to mount in happy-dom.
vi.setConfig({ testTimeout: 20_000 });

const members = [
  group({ id: 1, name: 'free', displayName: 'Free tier' }),
  group({ id: 2, name: 'paid', displayName: 'Paid tier' }),
];
const aggregate = group({
  id: 9,
  name: 'all',
  type: 'aggregate',
  subGroups: [
    { groupId: 2, weight: 1, priority: 2, name: 'paid' },
    { groupId: 1, weight: 1, priority: 1, name: 'free' },
  ],
});

let stub: ReturnType<typeof stubFetch>;
beforeEach(() => {
  stub = stubFetch({ 'PATCH /api/groups/9': (c) => json({ ...aggregate, ...(c.body as object) }) });
  vi.stubGlobal('fetch', stub.fetch);
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = '';
});

describe('SubGroupTable', () => {
  it('shows members best tier first and saves a changed tier, best first', async () => {
    const { wrapper } = mountWithApp(SubGroupTable, { props: { group: aggregate, groups: members } });
    await settle();
    const tiers = () =>
      [...document.querySelectorAll('[data-testid="subgroup-priority"] input')].map(
        (i) => (i as HTMLInputElement).value,
      );
    expect(tiers()).toEqual(['1', '2']);
    expect(wrapper.text().indexOf('Free tier')).toBeGreaterThan(-1);
    expect(wrapper.text().indexOf('Free tier')).toBeLessThan(wrapper.text().indexOf('Paid tier'));

    // The first tier's member moved behind the second: saved best tier first.
    const freeTier = document.querySelectorAll(
      '[data-testid="subgroup-priority"] input',
    )[0] as HTMLInputElement;
    await typeInto(freeTier, '3');
    freeTier.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    byTestId('subgroup-save').click();
    await settle();
    expect(stub.callsTo('PATCH /api/groups/9')[0]?.body).toEqual({
      subGroups: [
        { groupId: 2, weight: 1, priority: 2 },
        { groupId: 1, weight: 1, priority: 3 },
      ],
    });
  });
});
