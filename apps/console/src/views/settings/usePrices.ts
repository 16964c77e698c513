import type { Price, PriceInput } from '@keyway/contracts';
import { computed, onMounted, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { api } from '../../api';
import { confirmAction, toastSuccess } from '../../ui/feedback';

/** The prices card: the effective table, a filter, and saving or resetting one model. */
export function usePrices() {
  const { t } = useI18n();
  const items = ref<Price[]>([]);
  const search = ref('');
  const loading = ref(false);

  const shown = computed(() => {
    const q = search.value.trim().toLowerCase();
    return q === '' ? items.value : items.value.filter((p) => p.model.toLowerCase().includes(q));
  });

  async function load(): Promise<void> {
    loading.value = true;
    try {
      items.value = await api.prices.list();
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  /** Rejects with the API's error so the dialog can show it on its fields. */
  async function save(model: string, body: PriceInput): Promise<void> {
    await api.prices.save(model, body);
    toastSuccess(t('prices.savedDone'));
    await load();
  }

  async function reset(p: Price): Promise<void> {
    if (!(await confirmAction(t('prices.resetConfirm', { model: p.model }), t('prices.resetDefault'))))
      return;
    try {
      await api.prices.reset(p.model);
      toastSuccess(t('prices.resetDone'));
    } catch {
      // Toasted by the API hooks.
    }
    await load();
  }

  onMounted(load);
  return { items, search, shown, loading, load, save, reset };
}
