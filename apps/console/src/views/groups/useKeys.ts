import type { Group, Key, KeyStatus } from '@keyway/contracts';
import type { Ref } from 'vue';
import { ref, watch } from 'vue';
import { useI18n } from 'vue-i18n';
import { useRouter } from 'vue-router';
import { api } from '../../api';
import type { ValidateScope } from '../../api/keys';
import { validateResultSchema } from '../../api/schemas';
import { useTasksStore } from '../../stores/tasks';
import { confirmAction, notify, promptText, toastError, toastSuccess } from '../../ui/feedback';
import { copyText } from '../../utils/clipboard';
import { saveDownload } from '../../utils/download';

export type KeyAction = 'test' | 'restore' | 'toggle' | 'notes' | 'copy' | 'logs' | 'delete';

/** The key table of one standard group: filters, paging, per-key and bulk actions. */
export function useKeys(group: Ref<Group>, changed: () => void) {
  const { t } = useI18n();
  const router = useRouter();
  const tasks = useTasksStore();
  const items = ref<Key[]>([]);
  const total = ref(0);
  const page = ref(1);
  const pageSize = ref(20);
  const status = ref<KeyStatus | ''>('');
  const search = ref('');
  const loading = ref(false);
  const selection = ref<Key[]>([]);
  const testing = ref<number | null>(null);

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const res = await api.keys.list(group.value.id, {
        ...(status.value ? { status: status.value } : {}),
        ...(search.value.trim() ? { search: search.value.trim() } : {}),
        page: page.value,
        pageSize: pageSize.value,
      });
      items.value = res.items;
      total.value = res.total;
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  /** After a change: reload this page and tell the page (group counts, stats). */
  async function afterChange(): Promise<void> {
    await load();
    changed();
  }

  function firstPage(): void {
    if (page.value === 1) void load();
    else page.value = 1;
  }

  watch([status, pageSize, () => group.value.id], firstPage, { immediate: true });
  watch(page, () => void load());

  async function test(key: Key): Promise<void> {
    testing.value = key.id;
    try {
      const r = await api.keys.test(key.id);
      const info = t('keys.testInfo', { status: r.statusCode ?? '—', ms: Math.round(r.durationMs) });
      if (r.valid) toastSuccess(t('keys.testValid', { info }));
      else toastError(t('keys.testInvalid', { info, error: r.error ?? '' }));
      await afterChange();
    } catch {
      // Toasted.
    } finally {
      testing.value = null;
    }
  }

  async function act(action: KeyAction, key: Key): Promise<void> {
    try {
      switch (action) {
        case 'test':
          return await test(key);
        case 'restore':
          await api.keys.restore(group.value.id, [key.id]);
          toastSuccess(t('keys.restored', { n: 1 }));
          return await afterChange();
        case 'toggle':
          await api.keys.update(key.id, { status: key.status === 'disabled' ? 'active' : 'disabled' });
          return await afterChange();
        case 'notes': {
          const notes = await promptText(t('keys.notesPrompt'), t('keys.notes'), key.notes);
          if (notes === null) return;
          await api.keys.update(key.id, { notes });
          return await load();
        }
        case 'copy':
          if (await copyText(key.key)) toastSuccess(t('keys.copiedMasked'));
          return;
        case 'logs':
          await router.push({
            name: 'logs',
            query: { keyId: String(key.id), groupId: String(group.value.id) },
          });
          return;
        case 'delete':
          if (!(await confirmAction(t('keys.deleteOne', { key: key.key }), t('common.delete'), true))) return;
          await api.keys.removeByIds(group.value.id, [key.id]);
          toastSuccess(t('keys.deleted', { n: 1 }));
          return await afterChange();
      }
    } catch {
      // Toasted by the API hooks.
    }
  }

  async function bulk(run: () => Promise<number>, done: (n: number) => string): Promise<void> {
    try {
      toastSuccess(done(await run()));
      selection.value = [];
      await afterChange();
    } catch {
      // Toasted.
    }
  }

  async function deleteSelected(): Promise<void> {
    const ids = selection.value.map((k) => k.id);
    if (ids.length === 0) return;
    if (!(await confirmAction(t('keys.deleteSelected', { n: ids.length }), t('common.delete'), true))) return;
    await bulk(
      () => api.keys.removeByIds(group.value.id, ids),
      (n) => t('keys.deleted', { n }),
    );
  }

  async function restoreSelected(): Promise<void> {
    const ids = selection.value.map((k) => k.id);
    await bulk(
      () => api.keys.restore(group.value.id, ids),
      (n) => t('keys.restored', { n }),
    );
  }

  async function restoreAll(): Promise<void> {
    await bulk(
      () => api.keys.restore(group.value.id),
      (n) => t('keys.restored', { n }),
    );
  }

  async function deleteByStatus(s: KeyStatus): Promise<void> {
    const state = t(`keyState.${s}`);
    if (!(await confirmAction(t('keys.deleteByStatus', { state }), t('common.delete'), true))) return;
    await bulk(
      () => api.keys.removeByStatus(group.value.id, s),
      (n) => t('keys.deleted', { n }),
    );
  }

  async function exportKeys(s?: KeyStatus): Promise<void> {
    try {
      const file = await api.keys.export(group.value.id, s);
      saveDownload(file, `keys-${group.value.name}${s ? `-${s}` : ''}.txt`);
    } catch {
      // Toasted.
    }
  }

  async function validate(scope: ValidateScope): Promise<void> {
    const g = group.value;
    try {
      const taskId = await api.keys.validate(g.id, scope);
      toastSuccess(t('keys.validateStarted'));
      tasks.track(
        taskId,
        t('tasks.validating', { name: g.name }),
        (task) => {
          if (task.state === 'failed') notify('error', t('tasks.failed'), task.error ?? '');
          else {
            const r = validateResultSchema.catch({}).parse(task.result);
            notify(
              'success',
              t('tasks.validateDone', { name: g.name }),
              t('tasks.validateResult', {
                checked: r.checked ?? 0,
                valid: r.valid ?? 0,
                restored: r.restored ?? 0,
                invalidated: r.invalidated ?? 0,
              }),
            );
          }
          void afterChange();
        },
        g.id,
      );
    } catch {
      // Toasted.
    }
  }

  return {
    items,
    total,
    page,
    pageSize,
    status,
    search,
    loading,
    selection,
    testing,
    load,
    firstPage,
    act,
    deleteSelected,
    restoreSelected,
    restoreAll,
    deleteByStatus,
    exportKeys,
    validate,
    afterChange,
  };
}
