import { mount } from '@vue/test-utils';
import type { ComponentMountingOptions } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import type { Component } from 'vue';
import { nextTick } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import { i18n } from '../i18n';

const empty = { render: () => null };

/** Mounts a component with the app's plugins (pinia, English i18n, a memory router), attached to the body. */
export function mountWithApp<C extends Component>(component: C, options: ComponentMountingOptions<C> = {}) {
  const pinia = createPinia();
  setActivePinia(pinia);
  i18n.global.locale.value = 'en-US';
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', name: 'dashboard', component: empty },
      { path: '/groups', name: 'groups', component: empty },
      { path: '/logs', name: 'logs', component: empty },
      { path: '/login', name: 'login', component: empty },
    ],
  });
  const wrapper = mount(component, {
    attachTo: document.body,
    ...options,
    global: { plugins: [pinia, i18n, router], ...options.global },
  });
  return { wrapper, router, pinia };
}

/** Lets promises (stubbed fetches) and the DOM updates they cause settle. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((r) => setTimeout(r, 0));
    await nextTick();
  }
}

/** Element Plus shows a form item's error 100 ms after it is set (a debounce): wait that out. */
export async function settleErrors(): Promise<void> {
  await settle();
  await new Promise((r) => setTimeout(r, 150));
  await nextTick();
}

/** An element anywhere in the document (dialogs and drawers are teleported to the body). */
export function byTestId<T extends Element = HTMLElement>(id: string): T {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`no element with data-testid="${id}"`);
  return el;
}

/** Types into an input the way a user does (value + input event). */
export async function typeInto(el: Element, value: string): Promise<void> {
  const input =
    el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement
      ? el
      : el.querySelector('input, textarea');
  if (!input) throw new Error('no input to type into');
  (input as HTMLInputElement).value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  await nextTick();
}
