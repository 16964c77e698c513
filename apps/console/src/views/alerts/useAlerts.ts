import type {
  AlertChannel,
  AlertChannelCreate,
  AlertChannelPatch,
  AlertHistoryItem,
} from '@keyway/contracts';
import { onMounted, ref, watch } from 'vue';
import { useI18n } from 'vue-i18n';
import { api } from '../../api';
import { confirmAction, toastError, toastSuccess } from '../../ui/feedback';

/** The alerts page: channels (add, edit, test, delete) and the history of what was sent or suppressed. */
export function useAlerts() {
  const { t } = useI18n();
  const channels = ref<AlertChannel[]>([]);
  const loading = ref(false);
  const testing = ref<number | null>(null);
  const history = ref<AlertHistoryItem[]>([]);
  const historyTotal = ref(0);
  const page = ref(1);
  const pageSize = ref(20);
  const historyLoading = ref(false);

  async function loadChannels(): Promise<void> {
    loading.value = true;
    try {
      channels.value = await api.alerts.channels();
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  async function loadHistory(): Promise<void> {
    historyLoading.value = true;
    try {
      const r = await api.alerts.history(page.value, pageSize.value);
      history.value = r.items;
      historyTotal.value = r.total;
    } catch {
      // Toasted by the API hooks.
    } finally {
      historyLoading.value = false;
    }
  }

  /** Rejects with the API's error so the dialog can show it on its fields. */
  async function save(id: number | null, body: AlertChannelCreate | AlertChannelPatch): Promise<void> {
    if (id === null) await api.alerts.create(body as AlertChannelCreate);
    else await api.alerts.update(id, body);
    toastSuccess(t('alerts.saved'));
    await loadChannels();
  }

  async function setEnabled(c: AlertChannel, enabled: boolean): Promise<void> {
    try {
      await api.alerts.update(c.id, { enabled }, false);
    } catch {
      // Toasted by the API hooks.
    }
    await loadChannels();
  }

  async function remove(c: AlertChannel): Promise<void> {
    if (!(await confirmAction(t('alerts.deleteConfirm', { name: c.name }), t('common.delete')))) return;
    try {
      await api.alerts.remove(c.id);
      toastSuccess(t('alerts.deleted'));
    } catch {
      // Toasted by the API hooks.
    }
    await loadChannels();
  }

  /** Sends a test alert and says how the platform answered. */
  async function test(c: AlertChannel): Promise<void> {
    testing.value = c.id;
    try {
      const r = await api.alerts.test(c.id);
      if (r.delivered) toastSuccess(t('alerts.testDelivered', { status: r.statusCode ?? '—' }));
      else toastError(t('alerts.testFailed', { error: r.error ?? String(r.statusCode ?? '') }));
    } catch {
      // Toasted by the API hooks.
    } finally {
      testing.value = null;
      await loadHistory();
    }
  }

  watch([page, pageSize], loadHistory);
  onMounted(() => Promise.all([loadChannels(), loadHistory()]));
  return {
    channels,
    loading,
    testing,
    history,
    historyTotal,
    page,
    pageSize,
    historyLoading,
    loadHistory,
    save,
    setEnabled,
    remove,
    test,
  };
}
