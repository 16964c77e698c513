import type { SettingSchemaEntry, Settings } from '@keyway/contracts';
import { computed, nextTick, onMounted, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { api } from '../../api';
import { ApiError } from '../../api/http';
import { errorText, toastError, toastSuccess } from '../../ui/feedback';
import { CATEGORY_ORDER, diffSettings, errorsBySetting, patchOf } from './settings-diff';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The settings page: a draft of every value, the diff against what is saved, and API errors per field. */
export function useSettings() {
  const { t } = useI18n();
  const schema = ref<SettingSchemaEntry[]>([]);
  const saved = ref<Record<string, unknown>>({});
  const draft = ref<Record<string, unknown>>({});
  const errors = ref<Record<string, string>>({});
  const loading = ref(false);
  const saving = ref(false);
  const confirmOpen = ref(false);

  const categories = computed(() =>
    CATEGORY_ORDER.map((c) => ({
      category: c,
      entries: schema.value.filter((e) => e.category === c),
    })).filter((c) => c.entries.length > 0),
  );
  const changes = computed(() => diffSettings(schema.value, saved.value, draft.value));

  function take(values: Settings): void {
    saved.value = clone<Record<string, unknown>>(values);
    draft.value = clone<Record<string, unknown>>(values);
  }

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const res = await api.settings.get();
      schema.value = res.schema;
      take(res.values);
      errors.value = {};
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  function reset(): void {
    draft.value = clone(saved.value);
    errors.value = {};
  }

  /**
   * A list entry the server already removed (a proxy key turned into an access key): drop it from the saved
   * values and the draft alike, so it is neither a pending change nor sent back on the next save.
   */
  function forgetListEntry(key: string, entry: string): void {
    for (const values of [saved.value, draft.value]) {
      const list = values[key];
      if (Array.isArray(list)) values[key] = list.filter((v) => v !== entry);
    }
  }

  /** Shows the diff first; saving happens on confirm. */
  function review(): void {
    if (changes.value.length === 0) {
      toastSuccess(t('settings.noChanges'));
      return;
    }
    confirmOpen.value = true;
  }

  async function save(): Promise<void> {
    saving.value = true;
    try {
      take(await api.settings.update(patchOf(changes.value)));
      errors.value = {};
      confirmOpen.value = false;
      toastSuccess(t('settings.saved'));
    } catch (e) {
      confirmOpen.value = false;
      if (e instanceof ApiError && e.code === 'VALIDATION_FAILED') {
        errors.value = errorsBySetting(e.fieldErrors());
        // Bring the first refused field into view: it may be far down the page.
        await nextTick();
        document.querySelector('[data-testid^="setting-"].is-error')?.scrollIntoView?.({ block: 'center' });
      }
      if (!(e instanceof ApiError && e.status === 401)) toastError(errorText(e));
    } finally {
      saving.value = false;
    }
  }

  onMounted(() => void load());

  return {
    schema,
    saved,
    draft,
    errors,
    loading,
    saving,
    confirmOpen,
    categories,
    changes,
    load,
    reset,
    forgetListEntry,
    review,
    save,
  };
}
