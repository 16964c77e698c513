import { createI18n } from 'vue-i18n';
import { enUS } from './en-us';
import type { MessageSchema } from './en-us';
import { zhCN } from './zh-cn';

export const LOCALES = ['zh-CN', 'en-US'] as const;
export type Locale = (typeof LOCALES)[number];

export const messages: Record<Locale, MessageSchema> = { 'zh-CN': zhCN, 'en-US': enUS };

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** Saved choice first, then the browser's languages (any Chinese → zh-CN), else English. */
export function pickLocale(saved: string | null, languages: readonly string[]): Locale {
  if (isLocale(saved)) return saved;
  for (const lang of languages) {
    const l = lang.toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en-US';
  }
  return 'en-US';
}

/** The console's i18n instance (Composition API mode). */
export const i18n = createI18n<[MessageSchema], Locale, false>({
  legacy: false,
  locale: 'en-US',
  fallbackLocale: 'en-US',
  messages,
  missingWarn: false,
  fallbackWarn: false,
});
