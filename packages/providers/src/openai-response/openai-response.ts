import { CHANNEL_INFO } from '@keyway/contracts';
import {
  OPENAI_ACCOUNT_HEADERS,
  applyBearer,
  bearerSlots,
  isOpenAiList,
  isOpenAiStream,
  openAiModelListOf,
  openAiRules,
  openAiUsage,
  renderOpenAiError,
} from '../openai/openai';
import { peekJsonString } from '../json-peek';
import type { Provider } from '../provider';
import { listValidation, validationTarget } from '../validation';

/** The `openai-response` channel: OpenAI's Responses API (`/v1/responses`). */
const info = CHANNEL_INFO['openai-response'];

export const openaiResponse = {
  id: 'openai-response',
  credentials: bearerSlots,
  accountHeaders: OPENAI_ACCOUNT_HEADERS,
  rootPaths: ['/v1/responses'],
  modelList: openAiModelListOf,
  applyKey: applyBearer,
  isStream: isOpenAiStream,
  extractModel: (req) => peekJsonString(req.body, 'model'),
  renderError: renderOpenAiError,
  classifierRules: openAiRules,
  validationRequest(group, key) {
    const target = validationTarget(group.validationEndpoint, info.validationEndpoint, isOpenAiList);
    const auth = { authorization: `Bearer ${key}` };
    if (target.list) return listValidation(target, auth);
    return {
      method: 'POST',
      path: target.path,
      query: target.query,
      headers: { 'content-type': 'application/json', ...auth },
      // 16 is the Responses API's minimum `max_output_tokens`.
      body: JSON.stringify({ model: group.testModel || info.testModel, input: 'hi', max_output_tokens: 16 }),
    };
  },
  usageFromJson: openAiUsage,
  usageFields: ['usage'],
  usageFromEvent: openAiUsage,
} satisfies Provider;
