import { applyBearer, isOpenAiStream, openAiRules, openAiUsage, renderOpenAiError } from '../openai/openai';
import { peekJsonString } from '../json-peek';
import type { Provider } from '../provider';
import { listValidation, validationTarget } from '../validation';

/** The `openai-response` channel: OpenAI's Responses API (`/v1/responses`). */
export const openaiResponse = {
  id: 'openai-response',
  applyKey: applyBearer,
  isStream: isOpenAiStream,
  extractModel: (req) => peekJsonString(req.body, 'model'),
  renderError: renderOpenAiError,
  classifierRules: openAiRules,
  validationRequest(group, key) {
    const target = validationTarget(group.validationEndpoint, '/v1/responses');
    const auth = { authorization: `Bearer ${key}` };
    if (target.list) return listValidation(target, auth);
    return {
      method: 'POST',
      path: target.path,
      query: target.query,
      headers: { 'content-type': 'application/json', ...auth },
      // 16 is the Responses API's minimum `max_output_tokens`.
      body: JSON.stringify({ model: group.testModel || 'gpt-4.1-nano', input: 'hi', max_output_tokens: 16 }),
    };
  },
  usageFromJson: openAiUsage,
  usageFromEvent: openAiUsage,
} satisfies Provider;
