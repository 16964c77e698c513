import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { i18n, pickLocale } from '../i18n';
import type { Locale } from '../i18n';
import { storage } from '../utils/storage';

export type ThemeMode = 'auto' | 'light' | 'dark';
const THEME_KEY = 'keyway.theme';
const LOCALE_KEY = 'keyway.locale';

function readTheme(): ThemeMode {
  const v = storage.get(THEME_KEY);
  return v === 'light' || v === 'dark' ? v : 'auto';
}

/** Theme and language: chosen per browser, applied to `<html>` and the i18n instance. */
export const usePreferencesStore = defineStore('preferences', () => {
  const theme = ref<ThemeMode>(readTheme());
  const locale = ref<Locale>(
    pickLocale(storage.get(LOCALE_KEY), navigator.languages ?? [navigator.language]),
  );
  const systemDark = ref(false);

  const media =
    typeof window.matchMedia === 'function' ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  if (media) {
    systemDark.value = media.matches;
    media.addEventListener?.('change', (e) => (systemDark.value = e.matches));
  }

  const dark = computed(() => theme.value === 'dark' || (theme.value === 'auto' && systemDark.value));

  watch(
    dark,
    (on) => {
      document.documentElement.classList.toggle('dark', on);
      document.documentElement.style.colorScheme = on ? 'dark' : 'light';
    },
    { immediate: true },
  );
  watch(
    locale,
    (l) => {
      i18n.global.locale.value = l;
      document.documentElement.lang = l;
    },
    { immediate: true },
  );

  function setTheme(mode: ThemeMode): void {
    theme.value = mode;
    storage.set(THEME_KEY, mode);
  }

  function setLocale(l: Locale): void {
    locale.value = l;
    storage.set(LOCALE_KEY, l);
  }

  return { theme, locale, dark, setTheme, setLocale };
});
