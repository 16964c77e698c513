import type { Channel } from '@keyway/contracts';
import { anthropic } from './anthropic/anthropic';
import { gemini } from './gemini/gemini';
import { openai } from './openai/openai';
import { openaiResponse } from './openai-response/openai-response';
import type { Provider } from './provider';

/** Every channel's provider; the compiler checks that none is missing. */
export const providers = {
  openai,
  'openai-response': openaiResponse,
  anthropic,
  gemini,
} satisfies Record<Channel, Provider>;

/** The provider of a channel. */
export function providerFor(channel: Channel): Provider {
  return providers[channel];
}
