import { describe, expect, it } from 'vitest';
import { anthropicToOpenai } from './anthropic-to-openai';
import { DEFAULT_ANTHROPIC_MAX_TOKENS } from './common';
import {
  ANTHROPIC_IMAGE_BLOCK,
  ANTHROPIC_PARALLEL_RESULTS_TURN,
  ANTHROPIC_PARALLEL_TOOLS_MESSAGE,
  ANTHROPIC_TOOLS_REQUEST,
  OPENAI_PARALLEL_HISTORY,
  OPENAI_TOOLS_REQUEST,
  OPENAI_VISION_URL,
} from './fixtures/openai-anthropic-bodies';
import { openaiToAnthropic } from './openai-to-anthropic';
import { TranslationError } from './types';

function toAnthropic(body: object) {
  const native = openaiToAnthropic.request({
    path: '/v1/chat/completions',
    query: 'api-version=2024-10-21',
    body,
  });
  return { native, body: JSON.parse(native.body) as Record<string, unknown> };
}

function toOpenai(body: object) {
  const native = anthropicToOpenai.request({ path: '/v1/messages', query: 'beta=true', body });
  return { native, body: JSON.parse(native.body) as Record<string, unknown> };
}

function refusedField(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof TranslationError) return e.field;
    throw e;
  }
  throw new Error('not refused');
}

describe('OpenAI chat request → Anthropic messages', () => {
  it('converts the documented tools request: path, required max_tokens default, tools and tool_choice', () => {
    const { native, body } = toAnthropic(OPENAI_TOOLS_REQUEST);
    expect(native).toMatchObject({
      path: '/v1/messages',
      query: '',
      stream: false,
      model: 'gpt-4.1',
      includeUsage: false,
    });
    expect(body).toEqual({
      model: 'gpt-4.1',
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      messages: [{ role: 'user', content: "What's the weather like in Boston today?" }],
      tools: [
        {
          name: 'get_current_weather',
          description: 'Get the current weather in a given location',
          input_schema: OPENAI_TOOLS_REQUEST.tools[0]?.function.parameters,
        },
      ],
      tool_choice: { type: 'auto' },
    });
  });

  it('moves every system and developer message to the top-level system, in order', () => {
    const { body } = toAnthropic({
      model: 'm',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hi' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
      ],
    });
    expect(body.system).toEqual([
      { type: 'text', text: 'You are terse.' },
      { type: 'text', text: 'Answer in French.' },
    ]);
    expect(body.messages).toEqual([{ role: 'user', content: 'hi' }]);
  });

  it('keeps parallel tool call ids and merges consecutive tool results into one user turn', () => {
    const { body } = toAnthropic({ model: 'gpt-4.1', messages: OPENAI_PARALLEL_HISTORY });
    expect(body.system).toEqual([{ type: 'text', text: 'You are a helpful assistant.' }]);
    expect(body.messages).toEqual([
      { role: 'user', content: "What's the weather like in Paris today? And in Bogotá?" },
      {
        role: 'assistant',
        content: [
          {
            type: 'tool_use',
            id: 'call_12345xyz',
            name: 'get_weather',
            input: { location: 'Paris, France' },
          },
          {
            type: 'tool_use',
            id: 'call_67890abc',
            name: 'get_weather',
            input: { location: 'Bogotá, Colombia' },
          },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_12345xyz', content: '14' },
          { type: 'tool_result', tool_use_id: 'call_67890abc', content: '18' },
        ],
      },
    ]);
  });

  it('converts image URLs and base64 data URLs', () => {
    const { body } = toAnthropic({
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: "What's in this image?" },
            { type: 'image_url', image_url: { url: OPENAI_VISION_URL, detail: 'auto' } },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: "What's in this image?" },
          { type: 'image', source: { type: 'url', url: OPENAI_VISION_URL } },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
    ]);
  });

  it('maps sampling, stop, max tokens, user, stream options and structured outputs', () => {
    const schema = { type: 'object', properties: { a: { type: 'number' } }, required: ['a'] };
    const { native, body } = toAnthropic({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      temperature: 0.2,
      top_p: 0.9,
      stop: 'END',
      max_tokens: 10,
      max_completion_tokens: 20,
      user: 'user-42',
      stream: true,
      stream_options: { include_usage: true },
      response_format: { type: 'json_schema', json_schema: { name: 'r', schema, strict: true } },
      reasoning_effort: 'high',
    });
    expect(native).toMatchObject({ stream: true, includeUsage: true });
    expect(body).toMatchObject({
      max_tokens: 20,
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
      stream: true,
      output_config: { format: { type: 'json_schema', schema }, effort: 'high' },
    });
  });

  it.each([
    ['required', undefined, { type: 'any' }],
    ['none', undefined, { type: 'none' }],
    [
      { type: 'function', function: { name: 'f' } },
      false,
      { type: 'tool', name: 'f', disable_parallel_tool_use: true },
    ],
    [undefined, false, { type: 'auto', disable_parallel_tool_use: true }],
  ])('maps tool_choice %j with parallel_tool_calls %j', (choice, parallel, want) => {
    const tools = OPENAI_TOOLS_REQUEST.tools;
    const { body } = toAnthropic({
      model: 'm',
      messages: [],
      tools,
      tool_choice: choice,
      parallel_tool_calls: parallel,
    });
    expect(body.tool_choice).toEqual(want);
  });

  it.each([
    ['logprobs', { logprobs: true }],
    ['top_logprobs', { top_logprobs: 2 }],
    ['n', { n: 2 }],
    ['audio', { audio: { voice: 'alloy', format: 'wav' } }],
    ['modalities', { modalities: ['text', 'audio'] }],
    ['prediction', { prediction: { type: 'content', content: 'x' } }],
    ['seed', { seed: 7 }],
    ['reasoning_effort', { reasoning_effort: 'minimal' }],
    ['presence_penalty', { presence_penalty: 0.5 }],
    ['temperature', { temperature: 1.5 }],
    ['response_format.type', { response_format: { type: 'json_object' } }],
    ['tools[0].type', { tools: [{ type: 'custom', custom: { name: 'x' } }] }],
    ['messages[0].content[0].type', { messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }],
    ['messages[0].name', { messages: [{ role: 'user', name: 'bob', content: 'x' }] }],
    ['messages[0].role', { messages: [{ role: 'function', name: 'f', content: 'x' }] }],
    [
      'messages[0].tool_calls[0].function.arguments',
      {
        messages: [
          {
            role: 'assistant',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{' } }],
          },
        ],
      },
    ],
  ])('refuses %s, naming the field', (field, extra) => {
    expect(refusedField(() => toAnthropic({ model: 'm', messages: [], ...extra }))).toBe(field);
  });

  it('keeps text parts as separate blocks in system prompts and tool results', () => {
    const parts = [
      { type: 'text', text: 'one' },
      { type: 'text', text: 'two' },
    ];
    const { body } = toAnthropic({
      model: 'm',
      messages: [
        { role: 'system', content: parts },
        { role: 'tool', tool_call_id: 'c1', content: parts },
      ],
    });
    const blocks = parts.map((p) => ({ type: 'text', text: p.text }));
    expect(body.system).toEqual(blocks);
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: blocks }] },
    ]);
  });

  it('leaves out tool_choice auto and parallel_tool_calls when there are no tools, and maps safety_identifier', () => {
    const { body } = toAnthropic({
      model: 'm',
      messages: [],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      safety_identifier: 'hash-1',
    });
    expect(body).toEqual({
      model: 'm',
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      messages: [],
      metadata: { user_id: 'hash-1' },
    });
  });

  it('takes an assistant message echoed back as the SDK returned it (null fields, a refusal as text)', () => {
    const echoed = {
      role: 'assistant',
      content: null,
      refusal: "I can't help with that.",
      annotations: [],
      audio: null,
    };
    const { body } = toAnthropic({ model: 'm', messages: [echoed] });
    expect(body.messages).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: "I can't help with that." }] },
    ]);
  });

  it('accepts the neutral values of refused fields (n 1, logprobs false, text modality)', () => {
    const { body } = toAnthropic({ model: 'm', messages: [], n: 1, logprobs: false, modalities: ['text'] });
    expect(body).toEqual({ model: 'm', max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS, messages: [] });
  });
});

describe('Anthropic messages request → OpenAI chat', () => {
  it('converts the documented tools request', () => {
    const { native, body } = toOpenai(ANTHROPIC_TOOLS_REQUEST);
    expect(native).toMatchObject({
      path: '/v1/chat/completions',
      query: '',
      stream: false,
      model: 'claude-opus-4-1-20250805',
    });
    expect(body).toEqual({
      model: 'claude-opus-4-1-20250805',
      max_completion_tokens: 1024,
      messages: [{ role: 'user', content: "What's the weather like in San Francisco?" }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Get the current weather in a given location',
            parameters: ANTHROPIC_TOOLS_REQUEST.tools[0]?.input_schema,
          },
        },
      ],
    });
  });

  it('turns parallel tool_use and tool_result blocks into tool_calls and tool messages with the same ids', () => {
    const { body } = toOpenai({
      model: 'm',
      max_tokens: 100,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: "What's the weather and time in San Francisco?" },
        { role: 'assistant', content: ANTHROPIC_PARALLEL_TOOLS_MESSAGE.content },
        ANTHROPIC_PARALLEL_RESULTS_TURN,
      ],
    });
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: "What's the weather and time in San Francisco?" },
      {
        role: 'assistant',
        content: "I'll check the weather and time in San Francisco for you.",
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
      {
        role: 'tool',
        tool_call_id: 'toolu_01A09q90qw90lq917835lq9',
        content: 'San Francisco: 68°F, partly cloudy',
      },
      { role: 'tool', tool_call_id: 'toolu_01B09q90qw90lq917835lq9', content: '2:30 PM PST' },
      { role: 'user', content: [{ type: 'text', text: 'Thanks! Anything else I should know?' }] },
    ]);
  });

  it('converts images, sampling, stop sequences, tool_choice, user and streaming with usage', () => {
    const { native, body } = toOpenai({
      model: 'm',
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            ANTHROPIC_IMAGE_BLOCK,
            { type: 'image', source: { type: 'url', url: OPENAI_VISION_URL } },
          ],
        },
      ],
      temperature: 0.5,
      top_p: 0.8,
      stop_sequences: ['\n\nHuman:'],
      tools: ANTHROPIC_TOOLS_REQUEST.tools,
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      metadata: { user_id: 'u-1' },
      stream: true,
      thinking: { type: 'disabled' },
    });
    expect(native.stream).toBe(true);
    expect(body).toMatchObject({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQSkZJRg==' } },
            { type: 'image_url', image_url: { url: OPENAI_VISION_URL } },
          ],
        },
      ],
      temperature: 0.5,
      top_p: 0.8,
      stop: ['\n\nHuman:'],
      tool_choice: 'required',
      parallel_tool_calls: false,
      user: 'u-1',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(body).not.toHaveProperty('thinking');
  });

  it('accepts adaptive thinking (the model decides, as OpenAI reasoning models do by default)', () => {
    const { body } = toOpenai({ model: 'm', max_tokens: 5, messages: [], thinking: { type: 'adaptive' } });
    expect(body).toEqual({ model: 'm', max_completion_tokens: 5, messages: [] });
  });

  it('maps a JSON schema output format and a known effort', () => {
    const schema = { type: 'object', properties: {}, additionalProperties: false };
    const { body } = toOpenai({
      model: 'm',
      max_tokens: 5,
      messages: [],
      output_config: { format: { type: 'json_schema', schema }, effort: 'low' },
    });
    expect(body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'output', schema, strict: true },
    });
    expect(body.reasoning_effort).toBe('low');
  });

  it.each([
    ['top_k', { top_k: 5 }],
    ['thinking', { thinking: { type: 'enabled', budget_tokens: 2048 } }],
    ['container', { container: 'container_1' }],
    ['mcp_servers', { mcp_servers: [] }],
    ['output_config.effort', { output_config: { effort: 'max' } }],
    ['tools[0].type', { tools: [{ type: 'web_search_20250305', name: 'web_search' }] }],
    [
      'messages[0].content[0].source.type',
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }],
          },
        ],
      },
    ],
    [
      'messages[0].content[0].content[0].type',
      {
        messages: [
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 't', content: [ANTHROPIC_IMAGE_BLOCK] }],
          },
        ],
      },
    ],
    [
      'messages[0].content[0].type',
      {
        messages: [
          {
            role: 'assistant',
            content: [{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }],
          },
        ],
      },
    ],
  ])('refuses %s, naming the field', (field, extra) => {
    expect(refusedField(() => toOpenai({ model: 'm', max_tokens: 5, messages: [], ...extra }))).toBe(field);
  });

  it('drops thinking blocks of the history and the tool error flag, keeping the text', () => {
    const { body } = toOpenai({
      model: 'm',
      max_tokens: 5,
      messages: [
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 's' },
            { type: 'text', text: 'ok' },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't', content: 'boom', is_error: true }],
        },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'assistant', content: 'ok' },
      { role: 'tool', tool_call_id: 't', content: 'boom' },
    ]);
  });

  it('converts a base64 PDF document to a file part', () => {
    const doc = {
      type: 'document',
      source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' },
    };
    const { body } = toOpenai({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: [doc] }] });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          {
            type: 'file',
            file: { filename: 'document.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' },
          },
        ],
      },
    ]);
  });
});

describe('a request converted there and back', () => {
  it('keeps the conversation of the parallel tool calls', () => {
    const anthropic = toAnthropic({
      model: 'gpt-4.1',
      messages: OPENAI_PARALLEL_HISTORY,
      max_tokens: 99,
    }).body;
    const back = toOpenai(anthropic).body;
    expect(back.messages).toEqual([
      { role: 'system', content: 'You are a helpful assistant.' },
      ...OPENAI_PARALLEL_HISTORY.slice(1),
    ]);
  });
});
