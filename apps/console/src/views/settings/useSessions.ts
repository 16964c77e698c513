import type { AuthSession } from '@keyway/contracts';
import { onMounted, ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { api } from '../../api';
import { confirmAction, toastSuccess } from '../../ui/feedback';

/** The sessions card: the live admin sessions, revoking one or every other. Failures are toasted by the API hooks. */
export function useSessions() {
  const { t } = useI18n();
  const sessions = ref<AuthSession[]>([]);
  const loading = ref(false);
  const busy = ref(false);

  async function load(): Promise<void> {
    loading.value = true;
    try {
      sessions.value = await api.auth.sessions();
    } catch {
      // Toasted by the API hooks.
    } finally {
      loading.value = false;
    }
  }

  async function run(action: () => Promise<void>, done: string): Promise<void> {
    busy.value = true;
    try {
      await action();
      toastSuccess(done);
    } catch {
      // Toasted by the API hooks.
    } finally {
      busy.value = false;
    }
    await load();
  }

  async function revoke(s: AuthSession): Promise<void> {
    if (!(await confirmAction(t('sessions.revokeConfirm'), t('sessions.revoke'), true))) return;
    await run(() => api.auth.revokeSession(s.id), t('sessions.revoked'));
  }

  async function revokeOthers(): Promise<void> {
    if (!(await confirmAction(t('sessions.revokeOthersConfirm'), t('sessions.revokeOthers'), true))) return;
    await run(() => api.auth.revokeOtherSessions(), t('sessions.revokedOthers'));
  }

  onMounted(load);
  return { sessions, loading, busy, load, revoke, revokeOthers };
}
