import { applyBearer, isOpenAiStream, openAiRules, openAiUsage, renderOpenAiError } from '../openai/openai';
import { peekJsonString } from '../json-peek';
import type { Provider } from '../provider';

/** The `openai-response` channel: OpenAI's Responses API (`/v1/responses`). */
export const openaiResponse = {
  id: 'openai-response',
  applyKey: applyBearer,
  isStream: isOpenAiStream,
  extractModel: (req) => peekJsonString(req.body, 'model'),
  renderError: renderOpenAiError,
  classifierRules: openAiRules,
  validationRequest(group, key) {
    return {
      method: 'POST',
      path: group.validationEndpoint || '/v1/responses',
      query: '',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: group.testModel || 'gpt-4.1-nano', input: 'hi', max_output_tokens: 16 }),
    };
  },
  usageFromJson: openAiUsage,
  usageFromEvent: openAiUsage,
} satisfies Provider;
