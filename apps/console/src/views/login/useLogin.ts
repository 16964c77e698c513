import { ref } from 'vue';
import { useI18n } from 'vue-i18n';
import { useRoute, useRouter } from 'vue-router';
import { ApiError } from '../../api/http';
import { useAuthStore } from '../../stores/auth';

/** The login form: one admin key, errors shown under the field (wrong key, rate limited, unreachable). */
export function useLogin() {
  const { t } = useI18n();
  const auth = useAuthStore();
  const route = useRoute();
  const router = useRouter();
  const authKey = ref('');
  const error = ref('');
  const busy = ref(false);

  function messageFor(e: unknown): string {
    if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
    if (e.status === 401) return t('login.wrongKey');
    if (e.status === 429) return t('login.rateLimited');
    if (e.code === 'NETWORK') return t('errors.network');
    return e.message;
  }

  async function submit(): Promise<void> {
    if (busy.value) return;
    if (authKey.value.trim() === '') {
      error.value = t('login.required');
      return;
    }
    busy.value = true;
    error.value = '';
    try {
      await auth.login(authKey.value.trim());
      authKey.value = '';
      const redirect = typeof route.query.redirect === 'string' ? route.query.redirect : '/';
      // Only paths inside the console: never an absolute URL from the query string.
      await router.replace(redirect.startsWith('/') && !redirect.startsWith('//') ? redirect : '/');
    } catch (e) {
      error.value = messageFor(e);
    } finally {
      busy.value = false;
    }
  }

  return { authKey, error, busy, submit };
}
