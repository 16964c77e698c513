import type { Group } from '@keyway/contracts';
import { computed, onMounted, ref, watch } from 'vue';
import { useI18n } from 'vue-i18n';
import { useRoute, useRouter } from 'vue-router';
import { api } from '../../api';
import type { SettingsResponse } from '../../api/schemas';
import type { CopyKeys } from '../../api/groups';
import { toastSuccess } from '../../ui/feedback';

/** The groups page: the list in display order, the selected group (`?groupId=`), and group-level actions. */
export function useGroups() {
  const { t } = useI18n();
  const route = useRoute();
  const router = useRouter();
  const groups = ref<Group[]>([]);
  const loading = ref(false);
  const settings = ref<SettingsResponse | null>(null);

  const selectedId = computed<number | null>(() => {
    const raw = Number(route.query.groupId);
    return Number.isInteger(raw) && raw > 0 ? raw : null;
  });
  const selected = computed(() => groups.value.find((g) => g.id === selectedId.value) ?? null);

  async function load(): Promise<void> {
    loading.value = true;
    try {
      groups.value = await api.groups.list();
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  /** The settings schema and global values, for the form's per-group overrides (loaded once). */
  async function loadSettings(): Promise<void> {
    if (settings.value) return;
    try {
      settings.value = await api.settings.get();
    } catch {
      // Toasted; the override editor shows no global values.
    }
  }

  function select(id: number | null): void {
    void router.replace({ query: id === null ? {} : { ...route.query, groupId: String(id) } });
  }

  /** Replaces one group in the list with a fresh copy from the API (after key changes). */
  async function refreshOne(id: number): Promise<void> {
    try {
      const g = await api.groups.get(id);
      groups.value = groups.value.map((x) => (x.id === id ? g : x));
    } catch {
      // Toasted.
    }
  }

  function saved(group: Group): void {
    const known = groups.value.some((g) => g.id === group.id);
    groups.value = known
      ? groups.value.map((g) => (g.id === group.id ? group : g))
      : [...groups.value, group];
    select(group.id);
  }

  async function reorder(ids: number[]): Promise<void> {
    const before = groups.value;
    const byId = new Map(before.map((g) => [g.id, g]));
    groups.value = ids.map((id) => byId.get(id)).filter((g): g is Group => g !== undefined);
    try {
      await api.groups.order(ids);
      toastSuccess(t('groups.orderSaved'));
    } catch {
      groups.value = before;
    }
  }

  async function remove(group: Group): Promise<boolean> {
    try {
      await api.groups.remove(group.id);
    } catch {
      return false;
    }
    groups.value = groups.value.filter((g) => g.id !== group.id);
    toastSuccess(t('groups.deleted', { name: group.name }));
    select(null);
    return true;
  }

  async function copy(group: Group, name: string, keys: CopyKeys): Promise<boolean> {
    try {
      const created = await api.groups.copy(group.id, { ...(name ? { name } : {}), keys });
      toastSuccess(t('groups.copied', { name: created.name }));
      saved(created);
      return true;
    } catch {
      return false;
    }
  }

  // A selected group that disappeared (deleted elsewhere) is deselected.
  watch(groups, (list) => {
    if (selectedId.value !== null && !list.some((g) => g.id === selectedId.value)) select(null);
  });

  onMounted(() => {
    void load();
  });

  return {
    groups,
    loading,
    settings,
    selected,
    selectedId,
    load,
    loadSettings,
    select,
    refreshOne,
    saved,
    reorder,
    remove,
    copy,
  };
}
