// A group's displayName and description have no effect on the proxy; their effect is what the console shows
// (issue 11 item 10: every group field has an effect, with a test).
import { afterEach, describe, expect, it } from 'vitest';
import { group } from '../../../testing/fixtures';
import { mountWithApp, settle } from '../../../testing/mount';
import GroupDetails from './GroupDetails.vue';
import GroupList from './GroupList.vue';

afterEach(() => {
  document.body.innerHTML = '';
});

describe('group display fields', () => {
  it('lists a group under its displayName, and under its name when it has none', async () => {
    const { wrapper } = mountWithApp(GroupList, {
      props: {
        groups: [
          group({ id: 1, name: 'team-a', displayName: 'Team A (production)' }),
          group({ id: 2, name: 'team-b', displayName: '' }),
        ],
        selectedId: null,
        loading: false,
      },
    });
    await settle();
    const names = wrapper.findAll('.group-item__name').map((n) => n.text());
    expect(names).toEqual(['Team A (production)', 'team-b']);
  });

  it("shows the group's description in its details", async () => {
    const { wrapper } = mountWithApp(GroupDetails, {
      props: { group: group({ description: 'Shared by the data team; rotate monthly.' }) },
    });
    await settle();
    expect(wrapper.find('[data-testid="group-details"]').text()).toContain(
      'Shared by the data team; rotate monthly.',
    );
  });
});
