import type { OverrideRow } from '../group-form';
import { ElSelect } from 'element-plus';
import { afterEach, describe, expect, it } from 'vitest';
import { reactive } from 'vue';
import { settingsResponse } from '../../../testing/fixtures';
import { mountWithApp, settle } from '../../../testing/mount';
import ConfigOverridesEditor from './ConfigOverridesEditor.vue';

afterEach(() => {
  document.body.innerHTML = '';
});

function mountEditor(rows: OverrideRow[]) {
  const s = settingsResponse({ maxRetries: 5, proxyUrl: 'http://…@proxy.example.com:3128' });
  const { wrapper } = mountWithApp(ConfigOverridesEditor, {
    props: {
      modelValue: rows,
      'onUpdate:modelValue': (v: OverrideRow[]) => void wrapper.setProps({ modelValue: v }),
      schema: s.schema,
      values: s.values,
      errors: {},
    },
  });
  return wrapper;
}

describe('ConfigOverridesEditor', () => {
  it('offers only the group-overridable settings', async () => {
    const rows: OverrideRow[] = [{ key: '', value: null }];
    const w = mountEditor(rows);
    await settle();
    const select = w.findComponent(ElSelect);
    const offered = select.findAllComponents({ name: 'ElOption' }).map((o) => String(o.props('value')));
    expect(offered).toContain('maxRetries');
    expect(offered).toContain('blacklistThreshold');
    expect(offered).toContain('retryOnEmpty'); // the smarter pool's per-group switch
    expect(offered).not.toContain('appUrl'); // global only
    expect(offered).not.toContain('proxyKeys');
  });

  it('starts an override at the current global value and shows that value', async () => {
    // Reactive like the form state it is part of in the dialog.
    const rows = reactive<OverrideRow[]>([{ key: '', value: null }]);
    const w = mountEditor(rows);
    await settle();
    w.findComponent(ElSelect).vm.$emit('update:modelValue', 'maxRetries');
    await settle();
    expect(rows[0]).toEqual({ key: 'maxRetries', value: 5 });
    expect(w.text()).toContain('Global value: 5');
    expect(w.find('[data-testid="group-override-value"]').exists()).toBe(true);
  });

  it('starts an egress proxy override empty (direct), not at the masked global one, and says how to inherit', async () => {
    const rows = reactive<OverrideRow[]>([{ key: '', value: null }]);
    const w = mountEditor(rows);
    await settle();
    w.findComponent(ElSelect).vm.$emit('update:modelValue', 'proxyUrl');
    await settle();
    expect(rows[0]).toEqual({ key: 'proxyUrl', value: null });
    expect(w.text()).toContain('Global value: http://…@proxy.example.com:3128');
    expect(w.text()).toContain('Remove the row to use the global value');
  });
});
