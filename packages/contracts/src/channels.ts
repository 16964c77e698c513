import { z } from 'zod';

/** What the console shows for a channel and what its provider falls back to when a group leaves a field empty. */
export interface ChannelInfo {
  /** Human-readable name. */
  label: string;
  /** The vendor's public API origin, the default upstream of a new group. */
  upstream: string;
  /** Model a key is validated with when the group names none. */
  testModel: string;
  /** Validation endpoint when the group names none; `{model}` stands for the test model. */
  validationEndpoint: string;
}

/**
 * Every channel the project ships, in display order. Adding a channel = one line here (the compiler then asks
 * for its provider in `@keyway/providers`' registry) plus the provider's folder; the API schemas and the
 * console's channel picker derive from this object.
 */
export const CHANNEL_INFO = {
  openai: {
    label: 'OpenAI',
    upstream: 'https://api.openai.com',
    testModel: 'gpt-4.1-nano',
    validationEndpoint: '/v1/chat/completions',
  },
  'openai-response': {
    label: 'OpenAI Responses',
    upstream: 'https://api.openai.com',
    testModel: 'gpt-4.1-nano',
    validationEndpoint: '/v1/responses',
  },
  anthropic: {
    label: 'Anthropic',
    upstream: 'https://api.anthropic.com',
    // The 3.5 generation is retired: a retired default would fail every key's validation with a 404.
    testModel: 'claude-haiku-4-5',
    validationEndpoint: '/v1/messages',
  },
  gemini: {
    label: 'Gemini',
    upstream: 'https://generativelanguage.googleapis.com',
    testModel: 'gemini-2.0-flash',
    validationEndpoint: '/v1beta/models/{model}:generateContent',
  },
} as const satisfies Record<string, ChannelInfo>;

/** A channel's id. */
export type Channel = keyof typeof CHANNEL_INFO;

/** Channel ids in display order. */
export const CHANNELS = Object.keys(CHANNEL_INFO) as [Channel, ...Channel[]];

export const channelSchema = z.enum(CHANNELS);
