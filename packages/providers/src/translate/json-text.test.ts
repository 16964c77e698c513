import { describe, expect, it } from 'vitest';
import { anthropicToGemini } from './anthropic-to-gemini';
import { anthropicToOpenai, chatRequestJson, chatRequestOf } from './anthropic-to-openai';
import { openaiCompletionToAnthropic } from './anthropic-to-openai-reply';
import {
  GEMINI_BLOCKED_REPLY,
  GEMINI_PARALLEL_CALLS_REPLY,
  GEMINI_TEXT_REPLY,
  GEMINI_THINKING_REPLY,
} from './fixtures/gemini-bodies';
import {
  ANTHROPIC_IMAGE_BLOCK,
  ANTHROPIC_PARALLEL_RESULTS_TURN,
  ANTHROPIC_PARALLEL_TOOLS_MESSAGE,
  ANTHROPIC_THINKING_MESSAGE,
  ANTHROPIC_TOOLS_REQUEST,
  OPENAI_COMPLETION,
  OPENAI_TOOLS_COMPLETION,
} from './fixtures/openai-anthropic-bodies';
import { jsonString } from '@keyway/core';
import { anthropicMessageJson, chatCompletionJson, jsonValue } from './json-text';
import { openaiToAnthropic } from './openai-to-anthropic';
import { anthropicMessageToOpenai } from './openai-to-anthropic-reply';
import { openaiToGemini } from './openai-to-gemini';

/** Strings `JSON.stringify` escapes, or might: quotes, backslashes, every control character, surrogates. */
const STRINGS = [
  '',
  'plain ascii',
  'say "hi"',
  'back\\slash',
  '\\"',
  'line\nbreak\r\ttab',
  ...Array.from({ length: 0x20 }, (_, c) => `c${String.fromCharCode(c)}c`),
  '\u007f del',
  '\u2028\u2029 separators',
  'héllo wörld — 日本語',
  'emoji 😀 pair',
  'lone high \ud83d end',
  'lone low \ude00 end',
  '\ude00\ud83d reversed pair',
  '\ud83d',
  '</script><!--',
  '{"json":"inside"}',
];

const NUMBERS = [0, -0, 1, -1, 0.1 + 0.2, 1e21, 1e-7, 123456789012345680000, Number.MAX_VALUE, 5e-324];
const VALUES: unknown[] = [
  ...STRINGS,
  ...NUMBERS,
  NaN,
  Infinity,
  -Infinity,
  true,
  false,
  null,
  [],
  {},
  [1, 'a', null, { b: [true] }],
  { z: 1, a: 'x', 10: 'int key', 2: 'first' },
];

describe('jsonString / jsonValue', () => {
  it('write the text JSON.stringify writes', () => {
    for (const s of STRINGS) expect(jsonString(s)).toBe(JSON.stringify(s));
    for (const v of VALUES) expect(jsonValue(v)).toBe(JSON.stringify(v));
  });

  it('escape lone surrogates as \\udxxx (node 20)', () => {
    expect(jsonString('a\ud800b')).toBe('"a\\ud800b"');
    expect(jsonString('😀')).toBe('"😀"');
  });

  it('write a field a builder left out as null, never as the invalid text undefined', () => {
    expect(jsonValue(undefined)).toBe('null');
    const text = anthropicMessageJson({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      content: [],
      usage: {},
    });
    expect(JSON.parse(text)).toMatchObject({ model: null, stop_reason: null, usage: { input_tokens: null } });
  });
});

/** Anthropic messages bodies of every shape the request translator takes. */
function anthropicBodies(): Record<string, unknown>[] {
  const bodies: Record<string, unknown>[] = [
    {
      model: 'gpt-4o-mini',
      system: 'You are a helpful assistant.',
      messages: [{ role: 'user', content: 'Write one short paragraph, and keep it brief.' }],
      temperature: 0.7,
      max_tokens: 256,
      metadata: { user_id: 'keyway-bench' },
    },
    {
      ...ANTHROPIC_TOOLS_REQUEST,
      stream: true,
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
    },
    {
      model: 'm',
      max_tokens: 10,
      system: [
        { type: 'text', text: 'one' },
        { type: 'text', text: 'two', cache_control: { type: 'ephemeral' } },
      ],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'look' }, ANTHROPIC_IMAGE_BLOCK] },
        { ...ANTHROPIC_PARALLEL_TOOLS_MESSAGE, role: 'assistant' },
        ANTHROPIC_PARALLEL_RESULTS_TURN,
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'r' }] }],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't2' }] },
        { role: 'system', content: 'late system' },
      ],
      top_p: 0.9,
      stop_sequences: ['\n\nHuman:', 'END'],
      tools: [
        {
          name: 'f',
          description: 'does "f"',
          input_schema: { type: 'object', properties: {} },
          strict: true,
        },
        { name: 'g', input_schema: { type: 'object' } },
      ],
      tool_choice: { type: 'tool', name: 'f' },
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } }, effort: 'high' },
      thinking: { type: 'adaptive' },
      service_tier: 'auto',
      metadata: { user_id: null },
    },
    { model: 'm', messages: [], max_tokens: -0, temperature: 1e21, tool_choice: { type: 'none' } },
    { model: 'm', messages: [], max_tokens: 1e-7, top_p: 0, metadata: {}, output_config: { effort: 'low' } },
    { model: 'm', messages: [], max_tokens: '12', temperature: [1], top_p: { x: 1 }, stream: false },
    { model: 'm', messages: [], tools: [], tool_choice: { type: 'auto', disable_parallel_tool_use: true } },
  ];
  for (const s of STRINGS)
    bodies.push({
      model: s,
      system: s,
      messages: [
        { role: 'user', content: s },
        { role: 'assistant', content: s },
        { role: 'user', content: [{ type: 'text', text: s }] },
      ],
      metadata: { user_id: s },
      stop_sequences: [s],
    });
  return bodies;
}

describe('chatRequestJson', () => {
  it('is JSON.stringify of the request the translator builds, for every shape', () => {
    for (const body of anthropicBodies()) {
      const expected = JSON.stringify(chatRequestOf(body));
      expect(chatRequestJson(chatRequestOf(body))).toBe(expected);
      expect(anthropicToOpenai.request({ path: '/v1/messages', query: '', body }).body).toBe(expected);
    }
  });
});

/** OpenAI chat completions of every shape the answer translator reads. */
function openaiCompletions(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    OPENAI_COMPLETION,
    OPENAI_TOOLS_COMPLETION,
    {},
    { id: 42, choices: [] },
    {
      id: 'chatcmpl-x',
      choices: [
        {
          message: {
            content: [{ text: 'a' }, { text: 'b' }, 'c'],
            reasoning_content: 'think',
            refusal: 'no',
            tool_calls: [
              { id: 'call_1', function: { name: 'f', arguments: '{"a":[1,2]}' } },
              { function: { arguments: 'cut off' } },
              'junk',
              { id: 7, function: { name: null, arguments: '[1]' } },
            ],
          },
          finish_reason: 'length',
        },
      ],
      usage: {
        prompt_tokens: 1e21,
        completion_tokens: 2,
        prompt_tokens_details: { cached_tokens: 5 },
        completion_tokens_details: { reasoning_tokens: 3 },
      },
    },
    {
      choices: [{ message: { reasoning: 'r' }, finish_reason: 'tool_calls' }],
      usage: { prompt_tokens: 'x' },
    },
    {
      choices: [{ message: { content: 'x' }, finish_reason: 'stop' }],
      usage: { completion_tokens_details: { reasoning_tokens: Infinity } },
    },
  ];
  for (const s of STRINGS)
    out.push({
      id: `chatcmpl-${s}`,
      choices: [
        {
          message: {
            content: s,
            reasoning_content: s,
            refusal: s,
            tool_calls: [{ id: s, function: { name: s, arguments: JSON.stringify({ [s]: s }) } }],
          },
          finish_reason: s,
        },
      ],
    });
  return out;
}

const GEMINI_REPLIES = [
  GEMINI_TEXT_REPLY,
  GEMINI_PARALLEL_CALLS_REPLY,
  GEMINI_THINKING_REPLY,
  GEMINI_BLOCKED_REPLY,
  {},
];

/** Ids made afresh on each call (an answer without one of its own) compare equal. */
const freshIds = (text: string): string => text.replace(/(msg_|call_|chatcmpl-)[A-Za-z0-9]{24}/g, '$1…');

describe('anthropicMessageJson', () => {
  it('is JSON.stringify of the Message built from an OpenAI completion, for every shape', () => {
    for (const c of openaiCompletions())
      for (const model of ['claude-x', 'say "hi" \ud800']) {
        const message = openaiCompletionToAnthropic(c, model);
        expect(anthropicMessageJson(message)).toBe(JSON.stringify(message));
        expect(freshIds(anthropicToOpenai.responseText(c, { model }))).toBe(
          freshIds(JSON.stringify(message)),
        );
      }
  });

  it('is JSON.stringify of the Message built from a Gemini reply', () => {
    for (const reply of GEMINI_REPLIES) {
      const ctx = { model: 'claude-x' };
      const message = anthropicToGemini.response(reply, ctx);
      expect(anthropicMessageJson(message)).toBe(JSON.stringify(message));
      expect(freshIds(anthropicToGemini.responseText(reply, ctx))).toBe(freshIds(JSON.stringify(message)));
    }
  });

  it('leaves a block of another kind to JSON.stringify', () => {
    const m = { ...ANTHROPIC_THINKING_MESSAGE, content: [{ type: 'image', source: { a: 1 } }] };
    expect(anthropicMessageJson(m)).toBe(JSON.stringify(m));
  });
});

/** Anthropic Messages of every shape the answer translator reads. */
function anthropicMessages(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    ANTHROPIC_PARALLEL_TOOLS_MESSAGE,
    ANTHROPIC_THINKING_MESSAGE,
    {},
    { id: 1, content: 'not blocks', usage: { input_tokens: 1e21, output_tokens: -0 } },
    {
      id: 'msg_x',
      content: [{ type: 'tool_use', id: 'toolu_1', input: 'not an object' }, { type: 'image' }, null],
      stop_reason: 'max_tokens',
      usage: { output_tokens_details: { thinking_tokens: 4 }, cache_read_input_tokens: 2 },
    },
  ];
  for (const s of STRINGS)
    out.push({
      id: `msg_${s}`,
      content: [
        { type: 'thinking', thinking: s },
        { type: 'text', text: s },
        { type: 'tool_use', id: s, name: s, input: { [s]: s } },
      ],
      stop_reason: s,
    });
  return out;
}

describe('chatCompletionJson', () => {
  it('is JSON.stringify of the completion built from an Anthropic Message, for every shape', () => {
    for (const m of anthropicMessages())
      for (const model of ['gpt-x', 'say "hi" \ud800']) {
        const completion = anthropicMessageToOpenai(m, model);
        expect(chatCompletionJson(completion)).toBe(JSON.stringify(completion));
      }
  });

  it('is JSON.stringify of the completion built from a Gemini reply (its own field order)', () => {
    for (const reply of GEMINI_REPLIES) {
      const completion = openaiToGemini.response(reply, { model: 'gpt-x' });
      expect(chatCompletionJson(completion)).toBe(JSON.stringify(completion));
    }
  });

  it('leaves a completion without exactly one choice to JSON.stringify', () => {
    const c = { id: 'x', choices: [], usage: { a: 1 } };
    expect(chatCompletionJson(c)).toBe(JSON.stringify(c));
  });
});

describe('responseText', () => {
  it('is JSON.stringify(response) in every direction', () => {
    // `created` is the current second, which may tick between two calls.
    const same = (text: string) => freshIds(text).replace(/"created":\d+/, '"created":0');
    const cases = [
      { t: openaiToAnthropic, body: ANTHROPIC_THINKING_MESSAGE },
      { t: openaiToGemini, body: GEMINI_THINKING_REPLY },
      { t: anthropicToOpenai, body: OPENAI_TOOLS_COMPLETION },
      { t: anthropicToGemini, body: GEMINI_PARALLEL_CALLS_REPLY },
    ];
    for (const { t, body } of cases) {
      const ctx = { model: 'caller-model' };
      expect(same(t.responseText(body, ctx))).toBe(same(JSON.stringify(t.response(body, ctx))));
    }
  });
});
