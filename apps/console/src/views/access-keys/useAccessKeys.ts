import type { AccessKey, AccessKeyCreate, Group } from '@keyway/contracts';
import { onBeforeUnmount, onMounted, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { api } from '../../api';
import { confirmAction, toastSuccess } from '../../ui/feedback';

const REFRESH_MS = 30_000;

/** The secret of a key just created or rotated: shown once, then only its mask exists. */
export interface ShownSecret {
  name: string;
  key: string;
}

/** The access-keys page: the list with usage, groups for names, and every action on a key. */
export function useAccessKeys() {
  const { t } = useI18n();
  const items = ref<AccessKey[]>([]);
  const groups = ref<Group[]>([]);
  const loading = ref(false);
  const busy = ref<number | null>(null);
  const secret = ref<ShownSecret | null>(null);
  let timer: ReturnType<typeof setInterval> | null = null;

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const [keys, g] = await Promise.all([api.accessKeys.list(), api.groups.list()]);
      items.value = keys;
      groups.value = g;
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  /** Creates or edits; rejects with the ApiError so the dialog can show field errors. */
  async function save(body: AccessKeyCreate, id: number | null): Promise<void> {
    if (id === null) {
      const created = await api.accessKeys.create(body);
      secret.value = { name: created.name, key: created.key };
    } else {
      await api.accessKeys.update(id, body, true);
      toastSuccess(t('common.saved'));
    }
    await load();
  }

  async function withBusy(k: AccessKey, fn: () => Promise<void>): Promise<void> {
    busy.value = k.id;
    try {
      await fn();
    } catch {
      // Toasted by the API hooks.
    } finally {
      busy.value = null;
    }
  }

  const setEnabled = (k: AccessKey, enabled: boolean) =>
    withBusy(k, async () => {
      const updated = await api.accessKeys.update(k.id, { enabled });
      items.value = items.value.map((x) => (x.id === k.id ? updated : x));
      toastSuccess(enabled ? t('accessKeys.enabledDone') : t('accessKeys.disabledDone'));
    });

  async function rotate(k: AccessKey): Promise<void> {
    if (!(await confirmAction(t('accessKeys.rotateConfirm', { name: k.name }), t('accessKeys.rotate'), true)))
      return;
    await withBusy(k, async () => {
      secret.value = { name: k.name, key: await api.accessKeys.rotate(k.id) };
      await load();
    });
  }

  async function remove(k: AccessKey): Promise<void> {
    if (!(await confirmAction(t('accessKeys.deleteConfirm', { name: k.name }), t('common.delete'), true)))
      return;
    await withBusy(k, async () => {
      await api.accessKeys.remove(k.id);
      items.value = items.value.filter((x) => x.id !== k.id);
      toastSuccess(t('accessKeys.deleted'));
    });
  }

  onMounted(() => {
    void load();
    // Usage moves while the page is open; a quiet refresh keeps the bars honest.
    timer = setInterval(() => {
      if (document.visibilityState === 'visible' && !loading.value) void load();
    }, REFRESH_MS);
  });
  onBeforeUnmount(() => {
    if (timer) clearInterval(timer);
  });

  return { items, groups, loading, busy, secret, load, save, setEnabled, rotate, remove };
}
