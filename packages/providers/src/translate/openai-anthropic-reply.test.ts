import { describe, expect, it } from 'vitest';
import { anthropicToOpenai } from './anthropic-to-openai';
import {
  ANTHROPIC_ERROR_429,
  ANTHROPIC_ERROR_529,
  ANTHROPIC_MESSAGE,
  ANTHROPIC_PARALLEL_TOOLS_MESSAGE,
  ANTHROPIC_THINKING_MESSAGE,
  OPENAI_COMPLETION,
  OPENAI_ERROR_401,
  OPENAI_TOOLS_COMPLETION,
} from './fixtures/openai-anthropic-bodies';
import { refusalBody } from './openai-anthropic-maps';
import { openaiToAnthropic } from './openai-to-anthropic';

const toOpenai = (msg: object) =>
  openaiToAnthropic.response(msg, { model: 'gpt-4o' }) as Record<string, unknown>;
const toAnthropic = (c: object) =>
  anthropicToOpenai.response(c, { model: 'claude-x' }) as Record<string, unknown>;

describe('Anthropic message → OpenAI chat completion', () => {
  it('answers the documented text message with the caller model, an OpenAI id and usage', () => {
    const out = toOpenai(ANTHROPIC_MESSAGE);
    expect(out).toMatchObject({
      id: 'chatcmpl-013Zva2CMHLNnXjNJJKqJ2EF',
      object: 'chat.completion',
      model: 'gpt-4o',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hi! My name is Claude.', refusal: null },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 2095, completion_tokens: 503, total_tokens: 2598 },
    });
    expect(typeof out.created).toBe('number');
  });

  it('turns parallel tool_use blocks into tool_calls with the same ids, and counts cached tokens', () => {
    const out = toOpenai(ANTHROPIC_PARALLEL_TOOLS_MESSAGE);
    expect(out.choices).toEqual([
      {
        index: 0,
        logprobs: null,
        finish_reason: 'tool_calls',
        message: {
          role: 'assistant',
          content: "I'll check the weather and time in San Francisco for you.",
          refusal: null,
          tool_calls: [
            {
              id: 'toolu_01A09q90qw90lq917835lq9',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' },
            },
            {
              id: 'toolu_01B09q90qw90lq917835lq9',
              type: 'function',
              function: { name: 'get_time', arguments: '{"timezone":"America/Los_Angeles"}' },
            },
          ],
        },
      },
    ]);
    expect(out.usage).toEqual({
      prompt_tokens: 512 + 300 + 12,
      completion_tokens: 98,
      total_tokens: 512 + 300 + 12 + 98,
      prompt_tokens_details: { cached_tokens: 300 },
    });
  });

  it('gives thinking as reasoning_content and thinking tokens as reasoning tokens', () => {
    const out = toOpenai(ANTHROPIC_THINKING_MESSAGE);
    expect(out).toMatchObject({
      choices: [
        {
          message: {
            content: 'Based on my analysis...',
            reasoning_content: 'Let me analyze this step by step...',
          },
        },
      ],
      usage: { completion_tokens: 350, completion_tokens_details: { reasoning_tokens: 300 } },
    });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['model_context_window_exceeded', 'length'],
  ])('maps stop_reason %s to finish_reason %s', (stop_reason, finish) => {
    const out = toOpenai({ ...ANTHROPIC_MESSAGE, stop_reason });
    expect(out.choices).toMatchObject([{ finish_reason: finish }]);
  });
});

describe('OpenAI chat completion → Anthropic message', () => {
  it('answers the documented completion with the caller model, a msg_ id and usage', () => {
    expect(toAnthropic(OPENAI_COMPLETION)).toEqual({
      id: 'msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [{ type: 'text', text: 'Hello! How can I assist you today?' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 19,
        output_tokens: 10,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens_details: { thinking_tokens: 0 },
      },
    });
  });

  it('turns the documented tool call into a tool_use block with the same id and parsed input', () => {
    expect(toAnthropic(OPENAI_TOOLS_COMPLETION)).toMatchObject({
      content: [
        {
          type: 'tool_use',
          id: 'call_abc123',
          name: 'get_current_weather',
          input: { location: 'Boston, MA' },
        },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 82, output_tokens: 17 },
    });
  });

  it('splits cached prompt tokens out of input_tokens', () => {
    const usage = { prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 60 } };
    expect(toAnthropic({ ...OPENAI_COMPLETION, usage }).usage).toEqual({
      input_tokens: 40,
      output_tokens: 5,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 60,
    });
  });

  it('gives reasoning_content as a thinking block and a refusal as refusal', () => {
    const message = {
      role: 'assistant',
      content: null,
      reasoning_content: 'think',
      refusal: "I can't help with that.",
    };
    const out = toAnthropic({
      ...OPENAI_COMPLETION,
      choices: [{ index: 0, message, finish_reason: 'stop' }],
    });
    expect(out).toMatchObject({
      content: [
        { type: 'thinking', thinking: 'think', signature: '' },
        { type: 'text', text: "I can't help with that." },
      ],
      stop_reason: 'refusal',
    });
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
  ])('maps finish_reason %s to stop_reason %s', (finish_reason, stop) => {
    const choices = [{ ...OPENAI_COMPLETION.choices[0], finish_reason }];
    expect(toAnthropic({ ...OPENAI_COMPLETION, choices }).stop_reason).toBe(stop);
  });
});

describe('errors in the caller dialect', () => {
  it('gives an Anthropic overload to an OpenAI caller as a server error with the same message', () => {
    expect(JSON.parse(openaiToAnthropic.error(529, ANTHROPIC_ERROR_529))).toEqual({
      error: { message: 'Overloaded', type: 'server_error', param: null, code: null },
    });
  });

  it('gives an Anthropic rate limit to an OpenAI caller as rate_limit_exceeded', () => {
    expect(JSON.parse(openaiToAnthropic.error(429, ANTHROPIC_ERROR_429))).toMatchObject({
      error: {
        message: 'Number of request tokens has exceeded your per-minute rate limit',
        code: 'rate_limit_exceeded',
      },
    });
  });

  it('gives an OpenAI 401 to an Anthropic caller as authentication_error with the same message', () => {
    const body = JSON.parse(anthropicToOpenai.error(401, OPENAI_ERROR_401)) as { error: { message: string } };
    expect(body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect(body.error.message).toMatch(/^Incorrect API key provided: sk-abc\./);
  });

  it('keeps a non-JSON upstream body as the message', () => {
    expect(JSON.parse(anthropicToOpenai.error(502, '<html>Bad gateway</html>'))).toEqual({
      type: 'error',
      error: { type: 'api_error', message: '<html>Bad gateway</html>' },
    });
  });

  it('renders a refusal in each dialect, OpenAI naming the field in param', () => {
    expect(JSON.parse(refusalBody('openai', 'logprobs', 'logprobs: no'))).toEqual({
      error: {
        message: 'logprobs: no',
        type: 'invalid_request_error',
        param: 'logprobs',
        code: 'unsupported_parameter',
      },
    });
    expect(JSON.parse(refusalBody('anthropic', 'top_k', 'top_k: no'))).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'top_k: no' },
    });
  });
});
