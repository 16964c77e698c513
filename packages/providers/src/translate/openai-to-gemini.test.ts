import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
import { bytes, refusalOf, payloads, run, sdkFetch } from './fixtures/gemini-harness';
import type { Json } from './fixtures/gemini-harness';
import {
  OPENAI_PARALLEL_HISTORY,
  OPENAI_TOOLS_REQUEST,
  OPENAI_VISION_URL,
} from './fixtures/openai-anthropic-bodies';
import { SKIP_SIGNATURE, readToolId } from './gemini-common';
import { openaiToGemini } from './openai-to-gemini';

const MODEL = 'gemini-2.5-flash';
const NOW = Date.parse('2026-01-15T20:00:00Z');

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterAll(() => {
  vi.useRealTimers();
});

/** The native request for an OpenAI body (model defaulted), its body parsed. */
function native(body: Json) {
  const req = openaiToGemini.request({
    path: '/v1/chat/completions',
    query: '',
    body: { model: MODEL, ...body },
  });
  return { ...req, body: JSON.parse(req.body) as Json };
}

const refusal = (body: Json) => refusalOf(() => native(body));

const user = (content: unknown) => ({ role: 'user', content });

describe('OpenAI → Gemini requests', () => {
  it('converts the documented tools request: path, functionDeclarations with the JSON schema, tool_choice', () => {
    const req = native({ ...OPENAI_TOOLS_REQUEST, model: 'gemini-2.5-flash' });
    expect(req).toMatchObject({
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      query: '',
      stream: false,
      model: 'gemini-2.5-flash',
      includeUsage: false,
    });
    expect(req.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: "What's the weather like in Boston today?" }] }],
      tools: [
        {
          functionDeclarations: [
            {
              name: 'get_current_weather',
              description: 'Get the current weather in a given location',
              parametersJsonSchema: OPENAI_TOOLS_REQUEST.tools[0]?.function.parameters,
            },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
    });
  });

  it('streams through :streamGenerateContent?alt=sse, percent-encodes the model and keeps the caller’s', () => {
    const req = native({
      model: 'models/tuned model',
      stream: true,
      stream_options: { include_usage: true },
      messages: [user('hi')],
    });
    expect(req).toMatchObject({
      path: '/v1beta/models/tuned%20model:streamGenerateContent',
      query: 'alt=sse',
      stream: true,
      model: 'models/tuned model',
      includeUsage: true,
    });
  });

  it('joins every system/developer message into systemInstruction in order and merges consecutive user turns', () => {
    const req = native({
      messages: [
        { role: 'system', content: 'You are terse.' },
        user('hi'),
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        user([
          { type: 'text', text: 'What is in these images?' },
          { type: 'image_url', image_url: { url: OPENAI_VISION_URL, detail: 'high' } },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ]),
      ],
    });
    expect(req.body).toEqual({
      systemInstruction: { parts: [{ text: 'You are terse.' }, { text: 'Answer in French.' }] },
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'hi' },
            { text: 'What is in these images?' },
            { fileData: { mimeType: 'image/jpeg', fileUri: OPENAI_VISION_URL } },
            { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
      ],
    });
  });

  it('replays parallel calls as one model turn and answers them in call order, whatever order the results came in', () => {
    const [dev, ask, assistant, r1, r2] = OPENAI_PARALLEL_HISTORY;
    const want = {
      systemInstruction: { parts: [{ text: 'You are a helpful assistant.' }] },
      contents: [
        { role: 'user', parts: [{ text: "What's the weather like in Paris today? And in Bogotá?" }] },
        {
          role: 'model',
          parts: [
            // Written by another model: no signature, so Gemini's documented placeholder on the first call.
            {
              functionCall: { name: 'get_weather', args: { location: 'Paris, France' } },
              thoughtSignature: SKIP_SIGNATURE,
            },
            { functionCall: { name: 'get_weather', args: { location: 'Bogotá, Colombia' } } },
          ],
        },
        {
          role: 'user',
          parts: [
            { functionResponse: { name: 'get_weather', response: { result: '14' } } },
            { functionResponse: { name: 'get_weather', response: { result: '18' } } },
          ],
        },
      ],
    };
    expect(native({ messages: OPENAI_PARALLEL_HISTORY }).body).toEqual(want);
    expect(native({ messages: [dev, ask, assistant, r2, r1] }).body).toEqual(want);
  });

  it('sends a JSON-object tool result as the response object itself', () => {
    const [, ask, assistant] = OPENAI_PARALLEL_HISTORY;
    const body = native({
      messages: [
        ask,
        assistant,
        { role: 'tool', tool_call_id: 'call_12345xyz', content: '{"temperature":14,"unit":"C"}' },
        { role: 'tool', tool_call_id: 'call_67890abc', content: [{ type: 'text', text: '[18]' }] },
      ],
    }).body;
    expect((body.contents as Json[])[2]).toEqual({
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_weather', response: { temperature: 14, unit: 'C' } } },
        { functionResponse: { name: 'get_weather', response: { result: '[18]' } } },
      ],
    });
  });

  it('maps sampling, limits, stop, JSON schema output and reasoning effort to generationConfig', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const body = native({
      messages: [user('hi')],
      temperature: 0.2,
      top_p: 0.9,
      max_completion_tokens: 100,
      stop: 'END',
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0.1,
      n: 1,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } },
      reasoning_effort: 'low',
    }).body;
    expect(body.generationConfig).toEqual({
      temperature: 0.2,
      topP: 0.9,
      maxOutputTokens: 100,
      stopSequences: ['END'],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: 0.1,
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
      thinkingConfig: { thinkingBudget: 1024, includeThoughts: true },
    });
    expect(
      native({ messages: [user('hi')], response_format: { type: 'json_object' } }).body.generationConfig,
    ).toEqual({ responseMimeType: 'application/json' });
    expect(native({ messages: [user('hi')], reasoning_effort: 'none' }).body.generationConfig).toEqual({
      thinkingConfig: { thinkingBudget: 0 },
    });
  });

  it.each([
    ['none', { mode: 'NONE' }],
    ['auto', { mode: 'AUTO' }],
    ['required', { mode: 'ANY' }],
    [
      { type: 'function', function: { name: 'get_current_weather' } },
      { mode: 'ANY', allowedFunctionNames: ['get_current_weather'] },
    ],
  ])('maps tool_choice %j to functionCallingConfig %j', (choice, config) => {
    const body = native({ ...OPENAI_TOOLS_REQUEST, model: MODEL, tool_choice: choice }).body;
    expect(body.toolConfig).toEqual({ functionCallingConfig: config });
  });

  const hi = [user('hi')];
  it.each([
    [{ messages: hi, logprobs: true }, 'logprobs'],
    [{ messages: hi, top_logprobs: 2 }, 'top_logprobs'],
    [{ messages: hi, n: 2 }, 'n'],
    [{ messages: hi, audio: { voice: 'alloy', format: 'wav' } }, 'audio'],
    [{ messages: hi, modalities: ['text', 'audio'] }, 'modalities'],
    [{ messages: hi, logit_bias: { '50256': -100 } }, 'logit_bias'],
    [{ messages: hi, functions: [{ name: 'f' }] }, 'functions'],
    [{ messages: hi, store: true }, 'store'],
    [{ messages: hi, service_tier: 'flex' }, 'service_tier'],
    [{ messages: hi, parallel_tool_calls: false }, 'parallel_tool_calls'],
    [{ messages: hi, reasoning_effort: 'extreme' }, 'reasoning_effort'],
    [{ messages: [{ role: 'user', name: 'alice', content: 'hi' }] }, 'messages[0].name'],
    [
      { messages: [user([{ type: 'image_url', image_url: { url: 'https://example.com/photo' } }])] },
      'messages[0].content[0].image_url.url',
    ],
    [
      { messages: [user([{ type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } }])] },
      'messages[0].content[0].image_url.url',
    ],
    [
      { messages: [user([{ type: 'file', file: { file_id: 'file-abc' } }])] },
      'messages[0].content[0].file.file_id',
    ],
    [{ messages: [{ role: 'tool', tool_call_id: 'call_x', content: '1' }] }, 'messages[0].tool_call_id'],
    [{ messages: hi, tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type'],
    [{ messages: hi, web_search_options: {} }, 'web_search_options'],
    [{ messages: hi }, 'model'],
  ])('refuses %j naming %s', (body, field) => {
    const err = refusal(field === 'model' ? { ...body, model: '' } : body);
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
  });

  it('accepts only chat completions', () => {
    expect(openaiToGemini.accepts('POST', '/v1/chat/completions')).toBe(true);
    expect(openaiToGemini.accepts('POST', '/v1/completions')).toBe(false);
    expect(openaiToGemini.accepts('GET', '/v1/chat/completions')).toBe(false);
  });
});

const ctx = { model: 'caller-model' };
const choice = (out: unknown) => ((out as Json).choices as Json[])[0] as Json;

describe('Gemini → OpenAI JSON responses', () => {
  it('converts a text reply with the caller’s model, the response id and usage', () => {
    expect(openaiToGemini.response(GEMINI_TEXT_REPLY, ctx)).toEqual({
      id: 'chatcmpl-Ab7EaNOIJbKSz7IPo5qLgAk',
      object: 'chat.completion',
      created: NOW / 1000,
      model: 'caller-model',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'In a cozy little cottage, nestled amongst rolling hills, lived a magical backpack…',
            refusal: null,
          },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 8,
        completion_tokens: 21,
        total_tokens: 29,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it('converts parallel function calls to tool_calls with distinct call_ ids, carrying the signature back', () => {
    const out = openaiToGemini.response(GEMINI_PARALLEL_CALLS_REPLY, ctx);
    const message = choice(out).message as Json;
    const calls = message.tool_calls as { id: string; function: { name: string; arguments: string } }[];
    expect(choice(out).finish_reason).toBe('tool_calls');
    expect(message.content).toBeNull();
    expect(calls.map((c) => [c.function.name, JSON.parse(c.function.arguments) as unknown])).toEqual([
      ['power_disco_ball', { power: true }],
      ['start_music', { energetic: true, loud: true }],
      ['dim_lights', { brightness: 0.3 }],
    ]);
    expect(new Set(calls.map((c) => c.id)).size).toBe(3);
    for (const c of calls) expect(c.id).toMatch(/^call_[A-Za-z0-9_-]+$/);
    expect(readToolId(calls[0]?.id ?? '').signature).toBe('CiQBjz1rX0sig');

    // The next request replays the turn: Gemini gets its own signature back, not the placeholder.
    const next = native({
      messages: [
        user('party time'),
        message,
        ...calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: 'ok' })),
      ],
    }).body;
    const turn = (next.contents as Json[])[1];
    expect(turn).toEqual({
      role: 'model',
      parts: [
        {
          functionCall: { name: 'power_disco_ball', args: { power: true } },
          thoughtSignature: 'CiQBjz1rX0sig',
        },
        { functionCall: { name: 'start_music', args: { energetic: true, loud: true } } },
        { functionCall: { name: 'dim_lights', args: { brightness: 0.3 } } },
      ],
    });
  });

  it('puts thought parts in reasoning_content and counts thoughts and cached tokens', () => {
    const out = openaiToGemini.response(GEMINI_THINKING_REPLY, ctx);
    expect(choice(out).message).toEqual({
      role: 'assistant',
      content: 'The sum of the first 50 prime numbers is 5117.',
      reasoning_content: '**Analyzing the prime sum**\n\nI need the first 50 primes and their sum…',
      refusal: null,
    });
    expect(out.usage).toEqual({
      prompt_tokens: 2108,
      completion_tokens: 880,
      total_tokens: 2988,
      prompt_tokens_details: { cached_tokens: 2048 },
      completion_tokens_details: { reasoning_tokens: 865 },
    });
  });

  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['OTHER', 'stop'],
  ])('maps finishReason %s to %s', (reason, finish) => {
    const reply = {
      candidates: [{ content: { role: 'model', parts: [{ text: 'x' }] }, finishReason: reason }],
    };
    expect(choice(openaiToGemini.response(reply, ctx)).finish_reason).toBe(finish);
  });

  it('answers a blocked prompt with a refusal and content_filter', () => {
    const out = openaiToGemini.response(GEMINI_BLOCKED_REPLY, ctx);
    expect(choice(out).finish_reason).toBe('content_filter');
    const message = choice(out).message as Json;
    expect(message.content).toBeNull();
    expect(message.refusal).toContain('SAFETY');
    expect((out.usage as Json).prompt_tokens).toBe(14);
  });
});

describe('Gemini → OpenAI errors', () => {
  it.each([
    [400, GEMINI_ERROR_400, 'invalid_request_error', 'API key not valid. Please pass a valid API key.'],
    [429, GEMINI_ERROR_429, 'rate_limit_error', 'You exceeded your current quota'],
    [502, 'upstream connect error', 'server_error', 'upstream connect error'],
  ])('keeps the upstream message of a %d in OpenAI’s error shape', (status, body, type, message) => {
    const err = (JSON.parse(openaiToGemini.error(status, body)) as { error: Json }).error;
    expect(err.type).toBe(type);
    expect(err.message).toContain(message);
  });
});

describe('Gemini → OpenAI streams', () => {
  const b = bytes(GEMINI_TEXT_STREAM);

  it('streams role, content deltas, the finish chunk, usage when asked, then [DONE]', () => {
    const { out, complete } = run(openaiToGemini, [b], true);
    expect(complete).toBe(true);
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
    const chunks = payloads(out);
    expect(chunks.every((c) => c.model === 'caller-model' && c.object === 'chat.completion.chunk')).toBe(
      true,
    );
    expect(chunks.every((c) => c.id === 'chatcmpl-tTCwacuEBMvnitYP06qsgQY')).toBe(true);
    expect(chunks.map((c) => (c.choices as Json[])[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '', refusal: null },
      { content: 'Hello!' },
      { content: ' ¿Cómo puedo ayudarte hoy 👋' },
      { content: '?' },
      {},
      null,
    ]);
    expect(chunks.map((c) => (c.choices as Json[])[0]?.finish_reason ?? null)).toEqual([
      null,
      null,
      null,
      null,
      'stop',
      null,
    ]);
    expect(chunks[5]?.usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 9, total_tokens: 10 });
  });

  it('sends no usage chunk unless the caller asked for it', () => {
    const chunks = payloads(run(openaiToGemini, [b], false).out);
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
  });

  it('gives identical output for the upstream split at every byte boundary (inside characters too)', () => {
    const want = run(openaiToGemini, [b], true);
    for (let i = 1; i < b.length; i++)
      expect(run(openaiToGemini, [b.subarray(0, i), b.subarray(i)], true), `split at ${i}`).toEqual(want);
    expect(
      run(
        openaiToGemini,
        [...b].map((x) => Uint8Array.of(x)),
        true,
      ),
    ).toEqual(want);
  });

  it('emits each event as it arrives: the first chunk before the rest of the stream exists', () => {
    const st = openaiToGemini.stream({ model: 'm' });
    const first = GEMINI_TEXT_STREAM.split('\r\n\r\n')[0] ?? '';
    const out = st.push({ data: first.slice('data: '.length) });
    expect(payloads(out).map((c) => (c.choices as Json[])[0]?.delta)).toEqual([
      { role: 'assistant', content: '', refusal: null },
      { content: 'Hello!' },
    ]);
  });

  it('streams reasoning, then one tool_calls delta per call with whole arguments, finishing with tool_calls', () => {
    const chunks = payloads(run(openaiToGemini, [bytes(GEMINI_THINKING_TOOLS_STREAM)], true).out);
    const deltas = chunks.map((c) => (c.choices as Json[])[0]?.delta);
    expect(deltas[1]).toEqual({ reasoning_content: '**Planning the party**' });
    expect(deltas[2]).toEqual({ content: 'Sure, starting the party.' });
    const calls = deltas.slice(3, 5).map((d) => ((d as Json).tool_calls as Json[])[0] as Json);
    expect(calls.map((c) => [c.index, c.type, c.function])).toEqual([
      [0, 'function', { name: 'power_disco_ball', arguments: '{"power":true}' }],
      [1, 'function', { name: 'start_music', arguments: '{"energetic":true,"loud":true}' }],
    ]);
    expect((chunks[5]?.choices as Json[])[0]?.finish_reason).toBe('tool_calls');
    expect(chunks[6]?.usage).toMatchObject({
      completion_tokens: 69,
      completion_tokens_details: { reasoning_tokens: 40 },
    });
  });

  it('is assembled by the official openai SDK into the same message', async () => {
    const { out } = run(openaiToGemini, [bytes(GEMINI_THINKING_TOOLS_STREAM)], true);
    const client = new OpenAI({
      apiKey: 'k',
      baseURL: 'http://gateway.test/v1',
      maxRetries: 0,
      fetch: sdkFetch(out),
    });
    const stream = client.chat.completions.stream({
      model: 'caller-model',
      messages: [{ role: 'user', content: 'party' }],
    });
    const done = await stream.finalChatCompletion();
    const [c] = done.choices;
    expect(c?.finish_reason).toBe('tool_calls');
    expect(c?.message.content).toBe('Sure, starting the party.');
    expect(c?.message.tool_calls?.map((t) => (t.type === 'function' ? t.function.name : t.type))).toEqual([
      'power_disco_ball',
      'start_music',
    ]);
    expect(done.usage?.completion_tokens).toBe(69);
  });

  it('answers a blocked prompt with a refusal delta and content_filter, then [DONE]', () => {
    const { out, complete } = run(openaiToGemini, [bytes(GEMINI_BLOCKED_STREAM)]);
    expect(complete).toBe(true);
    const deltas = payloads(out).map((c) => (c.choices as Json[])[0] as Json);
    expect((deltas[1]?.delta as Json).refusal).toContain('SAFETY');
    expect(deltas[2]?.finish_reason).toBe('content_filter');
    expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('leaves a stream without a finishReason incomplete and ends it with nothing', () => {
    const { out, complete } = run(openaiToGemini, [bytes(GEMINI_CUT_STREAM)], true);
    expect(complete).toBe(false);
    expect(out).not.toContain('[DONE]');
    expect(out).not.toContain('finish_reason":"');
  });

  it('passes an error the upstream sent inside the stream in OpenAI’s shape and stays incomplete', () => {
    const st = openaiToGemini.stream({ model: 'm' });
    const out = st.push({
      data: JSON.stringify({
        error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' },
      }),
    });
    expect(payloads(out)[0]).toMatchObject({
      error: { message: 'The model is overloaded.', type: 'server_error' },
    });
    expect(st.complete).toBe(false);
    expect(st.end()).toBe('');
  });
});
