import { createPinia } from 'pinia';
import { createApp } from 'vue';
import 'element-plus/theme-chalk/dark/css-vars.css';
import './styles.css';
import App from './App.vue';
import { apiHooks } from './api';
import { i18n } from './i18n';
import { createAppRouter } from './router';
import { useAuthStore } from './stores/auth';
import { usePreferencesStore } from './stores/preferences';
import { useTasksStore } from './stores/tasks';
import { errorText, toastError } from './ui/feedback';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
app.use(i18n);
const router = createAppRouter();
app.use(router);

const auth = useAuthStore(pinia);
const prefs = usePreferencesStore(pinia);
const tasks = useTasksStore(pinia);

apiHooks.headers = () => ({ 'accept-language': prefs.locale });
apiHooks.onError = (error) => toastError(errorText(error));
apiHooks.onUnauthorized = () => {
  // The session expired or AUTH_KEY changed: back to the login page, then to where the operator was.
  const wasIn = auth.state === 'in';
  auth.expire();
  tasks.stop();
  const current = router.currentRoute.value;
  if (current.name !== 'login') {
    if (wasIn) toastError(i18n.global.t('errors.sessionExpired'));
    void router.replace({ name: 'login', query: { redirect: current.fullPath } });
  }
};

app.mount('#app');
