import type { Range, UsageItem } from '@keyway/contracts';
import { ref, watch } from 'vue';
import { api } from '../../api';
import type { UsageBy } from '../../api/dashboard';

/** The dashboard's usage table (per group, model or access key) and the models that have no price. */
export function useUsage(range: Range = '24h') {
  const by = ref<UsageBy>('group');
  const items = ref<UsageItem[]>([]);
  const unpriced = ref<string[]>([]);
  const loading = ref(false);

  async function loadItems(): Promise<void> {
    loading.value = true;
    try {
      items.value = (await api.dashboard.usage(range, by.value)).items;
    } catch {
      // Toasted by the API hooks; keep the last table.
    } finally {
      loading.value = false;
    }
  }

  async function load(): Promise<void> {
    await Promise.all([
      loadItems(),
      api.dashboard.unpricedModels(range).then(
        (r) => (unpriced.value = r.items.map((m) => m.model)),
        () => undefined,
      ),
    ]);
  }

  watch(by, () => void loadItems());

  return { by, items, unpriced, loading, load };
}
