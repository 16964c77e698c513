// Cached tokens and cost from each channel's usage as the provider documents it. Each fixture is a realistic
// response body (values chosen for easy arithmetic), with the documentation page that defines its fields.
import type { RequestLogRecord } from '@keyway/contracts';
import { providerFor } from '@keyway/providers';
import type { Channel } from '@keyway/contracts';
import { describe, expect, it } from 'vitest';
import type { GatewayRuntime, PriceRuntime } from './runtime';
import { recordCost } from './usage-cost';

const PRICES: PriceRuntime[] = [
  { model: 'gpt-4o', inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 },
  { model: 'claude-sonnet-4-5', inputPerMTok: 3, outputPerMTok: 15, cachedInputPerMTok: 0.3 },
  { model: 'gemini-2.5-flash', inputPerMTok: 0.3, outputPerMTok: 2.5, cachedInputPerMTok: 0.075 },
  // No cached price: cached tokens cost the input price.
  { model: 'o4-mini', inputPerMTok: 1.1, outputPerMTok: 4.4, cachedInputPerMTok: null },
];

const runtime = {
  groupsById: new Map(),
  prices: new Map(PRICES.map((p) => [p.model, p])),
} as unknown as GatewayRuntime;

/** The usage a channel reads from `body`, priced as the gateway prices a finished record. */
function priced(channel: Channel, model: string, body: unknown) {
  const usage = providerFor(channel).usageFromJson(body);
  const record = {
    groupId: 1,
    model,
    promptTokens: usage?.promptTokens ?? null,
    completionTokens: usage?.completionTokens ?? null,
    cachedTokens: usage?.cachedTokens ?? null,
    attempts: [],
  } as unknown as RequestLogRecord;
  return { usage, cost: recordCost(runtime, record) };
}

describe('cached tokens and cost per channel', () => {
  it('OpenAI Chat Completions: prompt_tokens include prompt_tokens_details.cached_tokens', () => {
    // https://platform.openai.com/docs/guides/prompt-caching ("cached_tokens" in usage.prompt_tokens_details)
    // and https://platform.openai.com/docs/api-reference/chat/object (usage).
    const body = {
      id: 'chatcmpl-abc123',
      object: 'chat.completion',
      model: 'gpt-4o-2024-08-06',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 2006,
        completion_tokens: 300,
        total_tokens: 2306,
        prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
      },
    };
    const { usage, cost } = priced('openai', 'gpt-4o-2024-08-06', body);
    expect(usage).toEqual({ promptTokens: 2006, completionTokens: 300, cachedTokens: 1920 });
    // Priced as gpt-4o (the longest listed prefix ending at a '-'): 86 × 2.5 + 1920 × 1.25 + 300 × 10.
    expect(cost).toBeCloseTo((86 * 2.5 + 1920 * 1.25 + 300 * 10) / 1e6, 15);
  });

  it('OpenAI Responses: input_tokens include input_tokens_details.cached_tokens, output includes reasoning', () => {
    // https://platform.openai.com/docs/api-reference/responses/object (usage.input_tokens_details.cached_tokens,
    // usage.output_tokens_details.reasoning_tokens).
    const body = {
      id: 'resp_67ccd2bed1ec8190',
      object: 'response',
      status: 'completed',
      model: 'o4-mini-2025-04-16',
      usage: {
        input_tokens: 1200,
        input_tokens_details: { cached_tokens: 1024 },
        output_tokens: 500,
        output_tokens_details: { reasoning_tokens: 448 },
        total_tokens: 1700,
      },
    };
    const { usage, cost } = priced('openai-response', 'o4-mini', body);
    expect(usage).toEqual({ promptTokens: 1200, completionTokens: 500, cachedTokens: 1024 });
    // No cached price: every prompt token at the input price.
    expect(cost).toBeCloseTo((1200 * 1.1 + 500 * 4.4) / 1e6, 15);
  });

  it('Anthropic: prompt = input + cache reads + cache writes; cached = reads; writes at the input price', () => {
    // https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching ("total input tokens =
    // cache_read_input_tokens + cache_creation_input_tokens + input_tokens") and
    // https://docs.anthropic.com/en/api/messages (usage).
    const body = {
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text: 'Hello!' }],
      stop_reason: 'end_turn',
      usage: {
        input_tokens: 50,
        cache_creation_input_tokens: 1000,
        cache_read_input_tokens: 4000,
        output_tokens: 200,
      },
    };
    const { usage, cost } = priced('anthropic', 'claude-sonnet-4-5-20250929', body);
    expect(usage).toEqual({ promptTokens: 5050, completionTokens: 200, cachedTokens: 4000 });
    expect(cost).toBeCloseTo((1050 * 3 + 4000 * 0.3 + 200 * 15) / 1e6, 15);
  });

  it('Gemini: promptTokenCount includes cachedContentTokenCount; output includes thoughtsTokenCount', () => {
    // https://ai.google.dev/api/generate-content#UsageMetadata (promptTokenCount "when cachedContent is set, this
    // is still the total effective prompt size", cachedContentTokenCount, thoughtsTokenCount).
    const body = {
      candidates: [{ content: { role: 'model', parts: [{ text: 'Hi' }] }, finishReason: 'STOP' }],
      usageMetadata: {
        promptTokenCount: 3000,
        cachedContentTokenCount: 2048,
        candidatesTokenCount: 120,
        thoughtsTokenCount: 380,
        totalTokenCount: 3500,
      },
      modelVersion: 'gemini-2.5-flash',
    };
    const { usage, cost } = priced('gemini', 'gemini-2.5-flash', body);
    expect(usage).toEqual({ promptTokens: 3000, completionTokens: 500, cachedTokens: 2048 });
    expect(cost).toBeCloseTo((952 * 0.3 + 2048 * 0.075 + 500 * 2.5) / 1e6, 15);
  });

  it('is null for an unpriced model or a response without usage', () => {
    expect(
      priced('openai', 'llama-3-70b', { usage: { prompt_tokens: 5, completion_tokens: 1 } }).cost,
    ).toBeNull();
    expect(priced('openai', 'gpt-4o', { id: 'x' }).cost).toBeNull();
  });

  it('prices the model the serving attempt sent (an alias expanded), not the name the client used', () => {
    const record = {
      groupId: 1,
      model: 'smart',
      promptTokens: 1_000_000,
      completionTokens: 0,
      cachedTokens: 0,
      attempts: [{ model: 'gpt-4.1' }, { model: 'gpt-4o' }],
    } as unknown as RequestLogRecord;
    expect(recordCost(runtime, record)).toBeCloseTo(2.5);
  });
});
