import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { anthropicToGemini } from './anthropic-to-gemini';
import {
  GEMINI_BLOCKED_REPLY,
  GEMINI_BLOCKED_STREAM,
  GEMINI_CUT_STREAM,
  GEMINI_ERROR_400,
  GEMINI_ERROR_429,
  GEMINI_PARALLEL_CALLS_REPLY,
  GEMINI_TEXT_REPLY,
  GEMINI_TEXT_STREAM,
  GEMINI_THINKING_REPLY,
  GEMINI_THINKING_TOOLS_STREAM,
} from './fixtures/gemini-bodies';
import { bytes, refusalOf, events, payloads, run, sdkFetch } from './fixtures/gemini-harness';
import type { Json } from './fixtures/gemini-harness';
import {
  ANTHROPIC_IMAGE_BLOCK,
  ANTHROPIC_PARALLEL_RESULTS_TURN,
  ANTHROPIC_PARALLEL_TOOLS_MESSAGE,
  ANTHROPIC_TOOLS_REQUEST,
  OPENAI_VISION_URL,
} from './fixtures/openai-anthropic-bodies';
import { SKIP_SIGNATURE, readToolId } from './gemini-common';

const MODEL = 'gemini-2.5-pro';

/** The native request for an Anthropic body (model and max_tokens defaulted), its body parsed. */
function native(body: Json) {
  const req = anthropicToGemini.request({
    path: '/v1/messages',
    query: '',
    body: { model: MODEL, max_tokens: 1024, ...body },
  });
  return { ...req, body: JSON.parse(req.body) as Json };
}

const refusal = (body: Json) => refusalOf(() => native(body));

const user = (content: unknown) => ({ role: 'user', content });
const ask = user("What's the weather and time in San Francisco?");
const history = [ask, { role: 'assistant', content: ANTHROPIC_PARALLEL_TOOLS_MESSAGE.content }];

describe('Anthropic → Gemini requests', () => {
  it('converts the documented tool use request', () => {
    const req = native({ ...ANTHROPIC_TOOLS_REQUEST, model: MODEL });
    expect(req).toMatchObject({
      path: '/v1beta/models/gemini-2.5-pro:generateContent',
      query: '',
      stream: false,
      model: MODEL,
    });
    expect(req.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: "What's the weather like in San Francisco?" }] }],
      tools: [
        {
          functionDeclarations: [
            {
              name: 'get_weather',
              description: 'Get the current weather in a given location',
              parametersJsonSchema: ANTHROPIC_TOOLS_REQUEST.tools[0]?.input_schema,
            },
          ],
        },
      ],
      generationConfig: { maxOutputTokens: 1024 },
    });
    expect(native({ messages: [ask], stream: true })).toMatchObject({
      path: '/v1beta/models/gemini-2.5-pro:streamGenerateContent',
      query: 'alt=sse',
      stream: true,
    });
  });

  it('replays parallel tool use and answers the results in call order, text after them', () => {
    const results = ANTHROPIC_PARALLEL_RESULTS_TURN.content;
    const want = [
      { role: 'user', parts: [{ text: "What's the weather and time in San Francisco?" }] },
      {
        role: 'model',
        parts: [
          { text: "I'll check the weather and time in San Francisco for you." },
          {
            functionCall: { name: 'get_weather', args: { location: 'San Francisco, CA' } },
            thoughtSignature: SKIP_SIGNATURE,
          },
          { functionCall: { name: 'get_time', args: { timezone: 'America/Los_Angeles' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          {
            functionResponse: {
              name: 'get_weather',
              response: { result: 'San Francisco: 68°F, partly cloudy' },
            },
          },
          { functionResponse: { name: 'get_time', response: { result: '2:30 PM PST' } } },
          { text: 'Thanks! Anything else I should know?' },
        ],
      },
    ];
    expect(native({ messages: [...history, ANTHROPIC_PARALLEL_RESULTS_TURN] }).body.contents).toEqual(want);
    const swapped = user([results[1], results[0], results[2]]);
    expect(native({ messages: [...history, swapped] }).body.contents).toEqual(want);
  });

  it('sends an error result as {error} and drops earlier thinking blocks', () => {
    const contents = native({
      messages: [
        ask,
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Let me look it up.', signature: 'EqQBCgIYAhIM' },
            { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { location: 'SF' } },
          ],
        },
        user([{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'timeout', is_error: true }]),
      ],
    }).body.contents as Json[];
    expect(contents.slice(1)).toEqual([
      {
        role: 'model',
        parts: [
          {
            functionCall: { name: 'get_weather', args: { location: 'SF' } },
            thoughtSignature: SKIP_SIGNATURE,
          },
        ],
      },
      {
        role: 'user',
        parts: [{ functionResponse: { name: 'get_weather', response: { error: 'timeout' } } }],
      },
    ]);
  });

  it('maps system blocks, images, documents, sampling, stop sequences and thinking; drops cache_control', () => {
    const body = native({
      system: [
        { type: 'text', text: 'You are a weather bot.' },
        { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } },
      ],
      messages: [
        user([
          ANTHROPIC_IMAGE_BLOCK,
          { type: 'image', source: { type: 'url', url: OPENAI_VISION_URL } },
          { type: 'document', source: { type: 'url', url: 'https://arxiv.org/pdf/2303.08774' } },
          { type: 'text', text: 'Describe them.', cache_control: { type: 'ephemeral' } },
        ]),
      ],
      temperature: 1,
      top_p: 0.95,
      top_k: 40,
      stop_sequences: ['\n\nHuman:'],
      metadata: { user_id: 'u-1' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
    }).body;
    expect(body).toEqual({
      systemInstruction: { parts: [{ text: 'You are a weather bot.' }, { text: 'Be brief.' }] },
      contents: [
        {
          role: 'user',
          parts: [
            { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQSkZJRg==' } },
            { fileData: { mimeType: 'image/jpeg', fileUri: OPENAI_VISION_URL } },
            { fileData: { mimeType: 'application/pdf', fileUri: 'https://arxiv.org/pdf/2303.08774' } },
            { text: 'Describe them.' },
          ],
        },
      ],
      generationConfig: {
        temperature: 1,
        topP: 0.95,
        topK: 40,
        maxOutputTokens: 1024,
        stopSequences: ['\n\nHuman:'],
        responseMimeType: 'application/json',
        responseJsonSchema: { type: 'object' },
        thinkingConfig: { thinkingBudget: 2048, includeThoughts: true },
      },
    });
  });

  it.each([
    [{ type: 'auto' }, { mode: 'AUTO' }],
    [{ type: 'any' }, { mode: 'ANY' }],
    [{ type: 'none' }, { mode: 'NONE' }],
    [
      { type: 'tool', name: 'get_weather' },
      { mode: 'ANY', allowedFunctionNames: ['get_weather'] },
    ],
  ])('maps tool_choice %j to functionCallingConfig %j', (choice, config) => {
    const body = native({ ...ANTHROPIC_TOOLS_REQUEST, model: MODEL, tool_choice: choice }).body;
    expect(body.toolConfig).toEqual({ functionCallingConfig: config });
  });

  it.each([
    [{ messages: [ask], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0].type'],
    [{ messages: [ask], tools: [{ type: 'bash_20250124', name: 'bash' }] }, 'tools[0].type'],
    [
      { ...ANTHROPIC_TOOLS_REQUEST, tool_choice: { type: 'auto', disable_parallel_tool_use: true } },
      'tool_choice.disable_parallel_tool_use',
    ],
    [{ messages: [ask], container: 'container_1' }, 'container'],
    [{ messages: [ask], mcp_servers: [{ type: 'url', url: 'https://mcp.example' }] }, 'mcp_servers'],
    [{ messages: [ask], output_config: { effort: 'low' } }, 'output_config.effort'],
    [{ messages: [ask], thinking: { type: 'sometimes' } }, 'thinking.type'],
    [
      { messages: [user([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }])] },
      'messages[0].content[0].source.type',
    ],
    [
      { messages: [user([{ type: 'image', source: { type: 'url', url: 'https://example.com/img' } }])] },
      'messages[0].content[0].source.url',
    ],
    [
      { messages: [user([{ type: 'search_result', source: 'x', title: 't', content: [] }])] },
      'messages[0].content[0].type',
    ],
    [
      {
        messages: [
          user([
            {
              type: 'document',
              source: { type: 'text', media_type: 'text/plain', data: 'x' },
              citations: { enabled: true },
            },
          ]),
        ],
      },
      'messages[0].content[0].citations',
    ],
    [
      {
        messages: [
          ...history,
          user([
            {
              type: 'tool_result',
              tool_use_id: 'toolu_01A09q90qw90lq917835lq9',
              content: [ANTHROPIC_IMAGE_BLOCK],
            },
          ]),
        ],
      },
      'messages[2].content[0].content[0].type',
    ],
    [
      { messages: [user([{ type: 'tool_result', tool_use_id: 'toolu_x', content: '1' }])] },
      'messages[0].content[0].tool_use_id',
    ],
    [{ messages: [{ role: 'system', content: 'x' }] }, 'messages[0].role'],
  ])('refuses %j naming %s', (body, field) => {
    const err = refusal(body);
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it('accepts only messages', () => {
    expect(anthropicToGemini.accepts('POST', '/v1/messages')).toBe(true);
    expect(anthropicToGemini.accepts('POST', '/v1/messages/count_tokens')).toBe(false);
  });
});

const ctx = { model: 'caller-model' };

describe('Gemini → Anthropic JSON responses', () => {
  it('converts a text reply with the caller’s model, the response id and usage', () => {
    expect(anthropicToGemini.response(GEMINI_TEXT_REPLY, ctx)).toEqual({
      id: 'msg_Ab7EaNOIJbKSz7IPo5qLgAk',
      type: 'message',
      role: 'assistant',
      model: 'caller-model',
      content: [
        {
          type: 'text',
          text: 'In a cozy little cottage, nestled amongst rolling hills, lived a magical backpack…',
        },
      ],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 8,
        output_tokens: 21,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    });
  });

  it('converts parallel function calls to tool_use blocks whose ids carry the signature back', () => {
    const out = anthropicToGemini.response(GEMINI_PARALLEL_CALLS_REPLY, ctx);
    expect(out.stop_reason).toBe('tool_use');
    const blocks = out.content as { type: string; id: string; name: string; input: unknown }[];
    expect(blocks.map((b) => [b.type, b.name, b.input])).toEqual([
      ['tool_use', 'power_disco_ball', { power: true }],
      ['tool_use', 'start_music', { energetic: true, loud: true }],
      ['tool_use', 'dim_lights', { brightness: 0.3 }],
    ]);
    expect(new Set(blocks.map((b) => b.id)).size).toBe(3);
    for (const b of blocks) expect(b.id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(readToolId(blocks[0]?.id ?? '').signature).toBe('CiQBjz1rX0sig');

    const next = native({
      messages: [
        user('party'),
        { role: 'assistant', content: blocks },
        user(blocks.map((b) => ({ type: 'tool_result', tool_use_id: b.id, content: 'ok' }))),
      ],
    }).body.contents as Json[];
    expect((next[1]?.parts as Json[])[0]).toEqual({
      functionCall: { name: 'power_disco_ball', args: { power: true } },
      thoughtSignature: 'CiQBjz1rX0sig',
    });
  });

  it('turns thought parts into a thinking block and splits cached input as Anthropic counts it', () => {
    const out = anthropicToGemini.response(GEMINI_THINKING_REPLY, ctx);
    expect(out.content).toEqual([
      {
        type: 'thinking',
        thinking: '**Analyzing the prime sum**\n\nI need the first 50 primes and their sum…',
        signature: '',
      },
      { type: 'text', text: 'The sum of the first 50 prime numbers is 5117.' },
    ]);
    expect(out.usage).toEqual({
      input_tokens: 60,
      output_tokens: 880,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 2048,
    });
  });

  it.each([
    ['STOP', 'end_turn'],
    ['MAX_TOKENS', 'max_tokens'],
    ['SAFETY', 'refusal'],
    ['RECITATION', 'refusal'],
    ['BLOCKLIST', 'refusal'],
    ['PROHIBITED_CONTENT', 'refusal'],
    ['SPII', 'refusal'],
    ['OTHER', 'end_turn'],
  ])('maps finishReason %s to %s', (reason, stop) => {
    const reply = {
      candidates: [{ content: { role: 'model', parts: [{ text: 'x' }] }, finishReason: reason }],
    };
    expect(anthropicToGemini.response(reply, ctx).stop_reason).toBe(stop);
  });

  it('answers a blocked prompt with an empty refusal', () => {
    expect(anthropicToGemini.response(GEMINI_BLOCKED_REPLY, ctx)).toMatchObject({
      content: [],
      stop_reason: 'refusal',
      usage: { input_tokens: 14, output_tokens: 0 },
    });
  });
});

describe('Gemini → Anthropic errors', () => {
  it.each([
    [400, GEMINI_ERROR_400, 'invalid_request_error', 'API key not valid. Please pass a valid API key.'],
    [429, GEMINI_ERROR_429, 'rate_limit_error', 'You exceeded your current quota'],
    [503, '<html>unavailable</html>', 'overloaded_error', '<html>unavailable</html>'],
  ])('keeps the upstream message of a %d in Anthropic’s error shape', (status, body, type, message) => {
    const out = JSON.parse(anthropicToGemini.error(status, body)) as { type: string; error: Json };
    expect(out.type).toBe('error');
    expect(out.error.type).toBe(type);
    expect(out.error.message).toContain(message);
  });
});

describe('Gemini → Anthropic streams', () => {
  const b = bytes(GEMINI_TEXT_STREAM);

  it('streams message_start, one text block, message_delta with the stop reason and usage, message_stop', () => {
    const { out, complete } = run(anthropicToGemini, [b]);
    expect(complete).toBe(true);
    const evs = events(out);
    expect(evs.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const data = payloads(out);
    expect(data.every((d, i) => d.type === evs[i]?.event)).toBe(true);
    expect((data[0]?.message as Json).model).toBe('caller-model');
    expect((data[0]?.message as Json).id).toBe('msg_tTCwacuEBMvnitYP06qsgQY');
    expect(data.slice(2, 5).map((d) => (d.delta as Json).text)).toEqual([
      'Hello!',
      ' ¿Cómo puedo ayudarte hoy 👋',
      '?',
    ]);
    expect(data[6]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: {
        input_tokens: 1,
        output_tokens: 9,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    });
  });

  it('gives identical output for the upstream split at every byte boundary (inside characters too)', () => {
    const want = run(anthropicToGemini, [b]);
    for (let i = 1; i < b.length; i++)
      expect(run(anthropicToGemini, [b.subarray(0, i), b.subarray(i)]), `split at ${i}`).toEqual(want);
    expect(
      run(
        anthropicToGemini,
        [...b].map((x) => Uint8Array.of(x)),
      ),
    ).toEqual(want);
  });

  it('streams thinking, text and each call as its own block with whole arguments', () => {
    const { out } = run(anthropicToGemini, [bytes(GEMINI_THINKING_TOOLS_STREAM)]);
    const data = payloads(out);
    expect((data[0]?.message as Json).usage).toMatchObject({ input_tokens: 121, output_tokens: 0 });
    const starts = data.filter((d) => d.type === 'content_block_start');
    expect(
      starts.map((d) => [d.index, (d.content_block as Json).type, (d.content_block as Json).name]),
    ).toEqual([
      [0, 'thinking', undefined],
      [1, 'text', undefined],
      [2, 'tool_use', 'power_disco_ball'],
      [3, 'tool_use', 'start_music'],
    ]);
    const json = data.filter((d) => (d.delta as Json | undefined)?.type === 'input_json_delta');
    expect(json.map((d) => [d.index, (d.delta as Json).partial_json])).toEqual([
      [2, '{"power":true}'],
      [3, '{"energetic":true,"loud":true}'],
    ]);
    expect(data.filter((d) => d.type === 'content_block_stop').map((d) => d.index)).toEqual([0, 1, 2, 3]);
    expect(data.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 69 } });
  });

  it('closes a thinking block with the signature Gemini attached to the thought', () => {
    const st = anthropicToGemini.stream({ model: 'm' });
    const thought = { text: 'Hmm.', thought: true, thoughtSignature: 'CiQBjz1rX0sig' };
    const out = st.push({
      data: JSON.stringify({
        candidates: [{ content: { role: 'model', parts: [thought, { text: 'Hi' }] } }],
      }),
    });
    expect(
      payloads(out)
        .filter((d) => d.type === 'content_block_delta')
        .map((d) => d.delta),
    ).toEqual([
      { type: 'thinking_delta', thinking: 'Hmm.' },
      { type: 'signature_delta', signature: 'CiQBjz1rX0sig' },
      { type: 'text_delta', text: 'Hi' },
    ]);
  });

  it('is assembled by the official Anthropic SDK into the same message', async () => {
    const { out } = run(anthropicToGemini, [bytes(GEMINI_THINKING_TOOLS_STREAM)]);
    const client = new Anthropic({
      apiKey: 'k',
      baseURL: 'http://gateway.test',
      maxRetries: 0,
      fetch: sdkFetch(out),
    });
    const msg = await client.messages
      .stream({ model: 'caller-model', max_tokens: 1024, messages: [{ role: 'user', content: 'party' }] })
      .finalMessage();
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.usage.output_tokens).toBe(69);
    expect(msg.content.map((c) => (c.type === 'tool_use' ? [c.type, c.name, c.input] : [c.type]))).toEqual([
      ['thinking'],
      ['text'],
      ['tool_use', 'power_disco_ball', { power: true }],
      ['tool_use', 'start_music', { energetic: true, loud: true }],
    ]);
  });

  it('answers a blocked prompt with stop_reason refusal and ends the message', () => {
    const { out, complete } = run(anthropicToGemini, [bytes(GEMINI_BLOCKED_STREAM)]);
    expect(complete).toBe(true);
    expect(events(out).map((e) => e.event)).toEqual(['message_start', 'message_delta', 'message_stop']);
    expect(payloads(out)[1]).toMatchObject({ delta: { stop_reason: 'refusal' } });
  });

  it('leaves a stream without a finishReason incomplete: no message_delta, no message_stop', () => {
    const { out, complete } = run(anthropicToGemini, [bytes(GEMINI_CUT_STREAM)]);
    expect(complete).toBe(false);
    expect(events(out).map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
    ]);
  });

  it('passes an error the upstream sent inside the stream as an error event and stays incomplete', () => {
    const st = anthropicToGemini.stream({ model: 'm' });
    const out = st.push({
      data: JSON.stringify({
        error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' },
      }),
    });
    expect(events(out)[0]?.event).toBe('error');
    expect(payloads(out)[0]).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'The model is overloaded.' },
    });
    expect(st.complete).toBe(false);
    expect(st.end()).toBe('');
  });
});
