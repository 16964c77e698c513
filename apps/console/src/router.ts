import { createRouter, createWebHistory } from 'vue-router';
import type { RouteRecordRaw, RouterHistory } from 'vue-router';
import { useAuthStore } from './stores/auth';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session. */
    public?: boolean;
    /** i18n key of the page title. */
    title?: string;
  }
}

export const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('./views/login/index.vue'),
    meta: { public: true, title: 'login.title' },
  },
  {
    path: '/',
    component: () => import('./layout/AppLayout.vue'),
    children: [
      {
        path: '',
        name: 'dashboard',
        component: () => import('./views/dashboard/index.vue'),
        meta: { title: 'nav.dashboard' },
      },
      {
        path: 'groups',
        name: 'groups',
        component: () => import('./views/groups/index.vue'),
        meta: { title: 'nav.groups' },
      },
      {
        path: 'access-keys',
        name: 'access-keys',
        component: () => import('./views/access-keys/index.vue'),
        meta: { title: 'nav.accessKeys' },
      },
      {
        path: 'logs',
        name: 'logs',
        component: () => import('./views/logs/index.vue'),
        meta: { title: 'nav.logs' },
      },
      {
        path: 'alerts',
        name: 'alerts',
        component: () => import('./views/alerts/index.vue'),
        meta: { title: 'nav.alerts' },
      },
      {
        path: 'settings',
        name: 'settings',
        component: () => import('./views/settings/index.vue'),
        meta: { title: 'nav.settings' },
      },
    ],
  },
  { path: '/:pathMatch(.*)*', redirect: '/' },
];

/** The app's router; every page but /login needs a session (asked of the API once per page load). */
export function createAppRouter(history: RouterHistory = createWebHistory('/')) {
  const router = createRouter({ history, routes, scrollBehavior: () => ({ top: 0 }) });
  router.beforeEach(async (to) => {
    const auth = useAuthStore();
    if (auth.state === 'unknown') await auth.check();
    if (to.meta.public) return to.name === 'login' && auth.state === 'in' ? { name: 'dashboard' } : true;
    if (auth.state !== 'in')
      return { name: 'login', query: to.fullPath === '/' ? {} : { redirect: to.fullPath } };
    return true;
  });
  return router;
}
