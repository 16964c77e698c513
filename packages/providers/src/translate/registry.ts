import type { Channel, TranslateDialect } from '@keyway/contracts';
import { anthropicToGemini } from './anthropic-to-gemini';
import { anthropicToOpenai } from './anthropic-to-openai';
import { openaiToAnthropic } from './openai-to-anthropic';
import { openaiToGemini } from './openai-to-gemini';
import type { Translator } from './types';

/**
 * The one caller path each dialect is translated on (POST, path after `/proxy/{group}` or at the gateway root):
 * chat completions for OpenAI callers, messages for Anthropic callers. Everything else a caller of that dialect
 * sends (model lists, embeddings, token counts) is not translated and answers as the group's channel does.
 */
const DIALECT_PATHS: Readonly<Record<TranslateDialect, string>> = {
  openai: '/v1/chat/completions',
  anthropic: '/v1/messages',
};

/** Translators by caller dialect, then by channel (looked up per translated request: no key string to build). */
const translators = new Map<string, Map<string, Translator>>();

/** Adds a translator (one per direction; a second for the same direction replaces the first). */
export function registerTranslator(translator: Translator): void {
  let byChannel = translators.get(translator.from);
  if (!byChannel) translators.set(translator.from, (byChannel = new Map<string, Translator>()));
  byChannel.set(translator.to, translator);
}

// Built-in directions: TRANSLATABLE_FROM (contracts) lists the same pairs for the admin API.
for (const t of [openaiToAnthropic, anthropicToOpenai, openaiToGemini, anthropicToGemini])
  registerTranslator(t);

/** The translator serving a `from` caller on a `to` group, or null when the pair is not translated. */
export function translatorFor(from: TranslateDialect, to: Channel): Translator | null {
  return translators.get(from)?.get(to) ?? null;
}

/**
 * The dialect a request speaks when it is one that translation serves (`POST /v1/chat/completions` → openai,
 * `POST /v1/messages` → anthropic), else null.
 */
export function translatableDialect(method: string, path: string): TranslateDialect | null {
  if (method !== 'POST') return null;
  if (path === DIALECT_PATHS.openai) return 'openai';
  if (path === DIALECT_PATHS.anthropic) return 'anthropic';
  return null;
}

/**
 * The translator for a request to a group of channel `to` that accepts the dialects `accepted`: the request's
 * dialect must be one of them and the pair translated, else null (the request is served natively).
 */
export function translatorForRequest(
  accepted: readonly string[],
  to: Channel,
  method: string,
  path: string,
): Translator | null {
  const from = translatableDialect(method, path);
  if (from === null || from === to || !accepted.includes(from)) return null;
  const translator = translatorFor(from, to);
  return translator?.accepts(method, path) ? translator : null;
}
