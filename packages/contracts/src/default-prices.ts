/**
 * The price table Keyway ships with: public list prices in USD per million tokens (standard tier, no batch or
 * priority discount; the short-prompt tier where a provider charges more past a prompt length). An operator's
 * entry (`PUT /api/prices/{model}`) replaces a default of the same model. Names are the providers' model ids
 * without a date suffix: `lookupPrice` finds `gpt-4o-2024-08-06` under `gpt-4o`, so a family member that is
 * priced differently (`o3-mini` under `o3`) needs its own entry.
 */
export interface DefaultPrice {
  model: string;
  inputPerMTok: number;
  outputPerMTok: number;
  /** Price of input read from the provider's cache; null = billed as ordinary input. */
  cachedInputPerMTok: number | null;
}

/** When the prices below were read from the providers' pages. */
export const DEFAULT_PRICES_DATE = '2026-12-05';

/** Where each family's prices come from. */
export const DEFAULT_PRICES_SOURCES = {
  openai: 'https://developers.openai.com/api/docs/pricing',
  anthropic: 'https://platform.claude.com/docs/en/about-claude/pricing',
  gemini: 'https://ai.google.dev/gemini-api/docs/pricing',
} as const;

const p = (
  model: string,
  inputPerMTok: number,
  cachedInputPerMTok: number | null,
  outputPerMTok: number,
): DefaultPrice => ({ model, inputPerMTok, outputPerMTok, cachedInputPerMTok });

/** The shipped price table (see DEFAULT_PRICES_DATE and DEFAULT_PRICES_SOURCES). */
export const DEFAULT_PRICES: readonly DefaultPrice[] = [
  // OpenAI — https://developers.openai.com/api/docs/pricing ("Text tokens", Standard): input, cached input, output.
  p('gpt-5.5', 5, 0.5, 30),
  p('gpt-5.4', 2.5, 0.25, 15),
  p('gpt-5.4-mini', 0.75, 0.075, 4.5),
  p('gpt-5.4-nano', 0.2, 0.02, 1.25),
  p('gpt-5.1', 1.25, 0.125, 10),
  p('gpt-5', 1.25, 0.125, 10),
  p('gpt-5-mini', 0.25, 0.025, 2),
  p('gpt-5-nano', 0.05, 0.005, 0.4),
  p('gpt-4.1', 2, 0.5, 8),
  p('gpt-4.1-mini', 0.4, 0.1, 1.6),
  p('gpt-4.1-nano', 0.1, 0.025, 0.4),
  p('gpt-4o', 2.5, 1.25, 10),
  p('gpt-4o-mini', 0.15, 0.075, 0.6),
  p('o3', 2, 0.5, 8),
  p('o3-mini', 1.1, 0.55, 4.4),
  p('o4-mini', 1.1, 0.275, 4.4),
  p('o1', 15, 7.5, 60),
  // Anthropic — https://platform.claude.com/docs/en/about-claude/pricing ("Model pricing"): base input, cache
  // hits, output. Cache writes are billed at the input price here (API.md "Prices and cost").
  p('claude-opus-5', 5, 0.5, 25),
  p('claude-sonnet-5', 2, 0.2, 10),
  p('claude-opus-4-8', 5, 0.5, 25),
  p('claude-opus-4-7', 5, 0.5, 25),
  p('claude-opus-4-6', 5, 0.5, 25),
  p('claude-opus-4-5', 5, 0.5, 25),
  p('claude-opus-4-1', 15, 1.5, 75),
  p('claude-opus-4', 15, 1.5, 75),
  p('claude-sonnet-4-6', 3, 0.3, 15),
  p('claude-sonnet-4-5', 3, 0.3, 15),
  p('claude-sonnet-4', 3, 0.3, 15),
  p('claude-haiku-4-5', 1, 0.1, 5),
  p('claude-3-7-sonnet', 3, 0.3, 15),
  p('claude-3-5-sonnet', 3, 0.3, 15),
  p('claude-3-5-haiku', 0.8, 0.08, 4),
  p('claude-3-haiku', 0.25, 0.03, 1.25),
  // Gemini — https://ai.google.dev/gemini-api/docs/pricing (Paid tier, Standard, prompts up to 200k tokens):
  // input, context caching, output (thinking tokens are output).
  p('gemini-2.5-pro', 1.25, 0.125, 10),
  p('gemini-2.5-flash', 0.3, 0.03, 2.5),
  p('gemini-2.5-flash-lite', 0.1, 0.01, 0.4),
  p('gemini-2.0-flash', 0.1, 0.025, 0.4),
  p('gemini-2.0-flash-lite', 0.075, null, 0.3),
];
