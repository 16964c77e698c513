import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { anthropicToOpenai } from './anthropic-to-openai';
import {
  ANTHROPIC_ERROR_STREAM,
  ANTHROPIC_TEXT_STREAM,
  ANTHROPIC_THINKING_STREAM,
  ANTHROPIC_TOOLS_STREAM,
  OPENAI_REASONING_STREAM,
  OPENAI_TEXT_STREAM,
  OPENAI_TOOLS_STREAM,
} from './fixtures/openai-anthropic-streams';
import { openaiToAnthropic } from './openai-to-anthropic';
import { SseParser } from './sse';
import type { Translator } from './types';

type Json = Record<string, unknown>;

interface Run {
  out: string;
  complete: boolean;
}

/** Upstream bytes, in the given pieces, through SseParser and the translator: what the caller receives. */
function run(t: Translator, pieces: Uint8Array[], includeUsage = false, model = 'caller-model'): Run {
  const parser = new SseParser();
  const st = t.stream({ model, includeUsage });
  let out = '';
  for (const p of pieces) for (const ev of parser.push(p)) out += st.push(ev);
  for (const ev of parser.end()) out += st.push(ev);
  return { out: out + st.end(), complete: st.complete };
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const whole = (t: Translator, s: string, includeUsage = false) => run(t, [bytes(s)], includeUsage);

/** The caller's events, parsed back. */
function events(out: string): { event?: string; data: string }[] {
  const p = new SseParser();
  return [...p.push(out), ...p.end()];
}

const chunks = (out: string): Json[] =>
  events(out)
    .filter((e) => e.data !== '[DONE]')
    .map((e) => JSON.parse(e.data) as Json);

/** A small seeded PRNG (mulberry32) so random splits are reproducible. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sdkFetch(body: string) {
  return () => Promise.resolve(new Response(body, { headers: { 'content-type': 'text/event-stream' } }));
}

const openaiSdk = (body: string) =>
  new OpenAI({ apiKey: 'k', baseURL: 'http://gateway.test/v1', maxRetries: 0, fetch: sdkFetch(body) });
const anthropicSdk = (body: string) =>
  new Anthropic({ apiKey: 'k', baseURL: 'http://gateway.test', maxRetries: 0, fetch: sdkFetch(body) });

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.parse('2026-01-15T20:00:00Z'));
});
afterAll(() => {
  vi.useRealTimers();
});

const cases: [string, Translator, string][] = [
  ['Anthropic text stream → OpenAI caller', openaiToAnthropic, ANTHROPIC_TEXT_STREAM],
  ['Anthropic tools stream → OpenAI caller', openaiToAnthropic, ANTHROPIC_TOOLS_STREAM],
  ['Anthropic thinking stream → OpenAI caller', openaiToAnthropic, ANTHROPIC_THINKING_STREAM],
  ['OpenAI text stream → Anthropic caller', anthropicToOpenai, OPENAI_TEXT_STREAM],
  ['OpenAI tools stream → Anthropic caller', anthropicToOpenai, OPENAI_TOOLS_STREAM],
];

describe.each(cases)('%s', (_name, t, upstream) => {
  // Computed once the clock is faked: `created` is the current second.
  let want: Run;
  const b = bytes(upstream);
  beforeAll(() => {
    want = whole(t, upstream, true);
  });

  it('ends complete with the caller’s terminal event', () => {
    expect(want.complete).toBe(true);
    expect(
      want.out.endsWith(
        t.from === 'openai' ? 'data: [DONE]\n\n' : 'event: message_stop\ndata: {"type":"message_stop"}\n\n',
      ),
    ).toBe(true);
  });

  it('gives identical output for the upstream split at every byte boundary and byte by byte', () => {
    for (let i = 1; i < b.length; i++)
      expect(run(t, [b.subarray(0, i), b.subarray(i)], true), `split at ${i}`).toEqual(want);
    expect(
      run(
        t,
        [...b].map((x) => Uint8Array.of(x)),
        true,
      ),
    ).toEqual(want);
  });

  it('gives identical output for 200 random splits', () => {
    const rand = prng(17);
    for (let n = 0; n < 200; n++) {
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < b.length;) {
        const len = 1 + Math.floor(rand() * 40);
        pieces.push(b.subarray(at, at + len));
        at += len;
      }
      expect(run(t, pieces, true), `random split ${n}`).toEqual(want);
    }
  });

  it('names the caller’s model in every chunk or message', () => {
    const models = chunks(want.out)
      .map((c) => (t.from === 'openai' ? c.model : (c.message as Json | undefined)?.model))
      .filter((m) => m !== undefined);
    expect(models.length).toBeGreaterThan(0);
    expect(new Set(models)).toEqual(new Set(['caller-model']));
    if (t.from === 'openai') expect(chunks(want.out).every((c) => c.model === 'caller-model')).toBe(true);
  });

  it('reports a stream cut before the upstream’s terminal event as incomplete, with no terminal event', () => {
    const cut = upstream.slice(
      0,
      upstream.lastIndexOf(t.from === 'openai' ? 'event: message_stop' : 'data: [DONE]'),
    );
    const got = whole(t, cut, true);
    expect(got.complete).toBe(false);
    expect(got.out).not.toContain('[DONE]');
    expect(got.out).not.toContain('message_stop');
  });
});

describe('Anthropic stream → OpenAI caller', () => {
  it('streams text deltas, unicode intact, with the finish reason, usage chunk only when asked, and [DONE]', () => {
    const got = run(
      openaiToAnthropic,
      [...bytes(ANTHROPIC_TEXT_STREAM)].map((x) => Uint8Array.of(x)),
      true,
    );
    const cs = chunks(got.out);
    const content = cs
      .map((c) =>
        String(((c.choices as Json[])[0]?.delta as { content?: string } | undefined)?.content ?? ''),
      )
      .join('');
    expect(content).toBe('Hello! 👋 你好');
    expect(got.out).toContain('\n\n: ping\n\n');
    expect(cs[0]).toMatchObject({
      id: 'chatcmpl-1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY',
      object: 'chat.completion.chunk',
    });
    expect(cs[0]?.choices).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
    ]);
    expect(cs.at(-2)?.choices).toMatchObject([{ delta: {}, finish_reason: 'stop' }]);
    expect(cs.at(-1)).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 25,
        completion_tokens: 15,
        total_tokens: 40,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    });
    expect(cs.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    const noUsage = chunks(whole(openaiToAnthropic, ANTHROPIC_TEXT_STREAM, false).out);
    expect(noUsage.every((c) => (c.choices as unknown[]).length === 1 && !('usage' in c))).toBe(true);
  });

  it('is read by the openai SDK: parallel tool calls keep ids, names and arguments', async () => {
    const sse = whole(openaiToAnthropic, ANTHROPIC_TOOLS_STREAM, true).out;
    const stream = openaiSdk(sse).chat.completions.stream({ model: 'caller-model', messages: [] });
    const done = await stream.finalChatCompletion();
    const choice = done.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBe("Okay, let's check the weather for San Francisco, CA:");
    const calls = (choice?.message.tool_calls ?? []).map((c) =>
      c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments) as unknown] : [],
    );
    expect(calls).toEqual([
      [
        'toolu_01T1x1fJ34qAmk2tNTrN7Up6',
        'get_weather',
        { location: 'San Francisco, CA', unit: 'fahrenheit' },
      ],
      ['toolu_01B09q90qw90lq917835lq9', 'get_time', { timezone: 'America/Los_Angeles' }],
      ['toolu_01NoArgs', 'get_location', {}],
    ]);
    expect(done.usage).toMatchObject({
      prompt_tokens: 572,
      completion_tokens: 89,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  it('streams thinking as reasoning_content before the text', () => {
    const cs = chunks(whole(openaiToAnthropic, ANTHROPIC_THINKING_STREAM).out);
    const deltas = cs.map((c) => (c.choices as Json[])[0]?.delta as Json & { content?: string });
    expect(deltas.filter((d) => 'reasoning_content' in d)).toEqual([
      { reasoning_content: 'I need to find the GCD of 1071 and 462 using the Euclidean algorithm.' },
    ]);
    expect(deltas.map((d) => d.content ?? '').join('')).toBe('The greatest common divisor is 21.');
  });

  it('passes a mid-stream error on as an OpenAI error the SDK throws, and stays incomplete', async () => {
    const got = whole(openaiToAnthropic, ANTHROPIC_ERROR_STREAM);
    expect(got.complete).toBe(false);
    expect(chunks(got.out).at(-1)).toEqual({
      error: { message: 'Overloaded', type: 'server_error', param: null, code: null },
    });
    const stream = openaiSdk(got.out).chat.completions.stream({ model: 'caller-model', messages: [] });
    await expect(stream.finalChatCompletion()).rejects.toThrow(/Overloaded/);
  });
});

describe('OpenAI stream → Anthropic caller', () => {
  it('sends message_start, one text block, message_delta with stop reason and usage, message_stop', () => {
    const evs = events(whole(anthropicToOpenai, OPENAI_TEXT_STREAM).out);
    expect(evs.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of evs) expect((JSON.parse(e.data) as Json).type).toBe(e.event);
    expect(JSON.parse(evs[0]?.data ?? '')).toMatchObject({
      message: { id: 'msg_123', model: 'caller-model' },
    });
    expect(JSON.parse(evs[5]?.data ?? '')).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: {
        input_tokens: 15,
        output_tokens: 10,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 4,
        output_tokens_details: { thinking_tokens: 2 },
      },
    });
  });

  it('is read by the Anthropic SDK: text, unicode intact, stop reason and usage', async () => {
    const sse = run(
      anthropicToOpenai,
      [...bytes(OPENAI_TEXT_STREAM)].map((x) => Uint8Array.of(x)),
    ).out;
    const msg = await anthropicSdk(sse)
      .messages.stream({ model: 'caller-model', max_tokens: 9, messages: [] })
      .finalMessage();
    expect(msg.content).toEqual([{ type: 'text', text: 'Hello wörld 👋 你好' }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.usage).toMatchObject({ input_tokens: 15, output_tokens: 10, cache_read_input_tokens: 4 });
  });

  it('is read by the Anthropic SDK: parallel tool calls become tool_use blocks with ids and inputs', async () => {
    const sse = whole(anthropicToOpenai, OPENAI_TOOLS_STREAM).out;
    const msg = await anthropicSdk(sse)
      .messages.stream({ model: 'caller-model', max_tokens: 9, messages: [] })
      .finalMessage();
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content).toEqual([
      {
        type: 'tool_use',
        id: 'call_DdmO9pD3xa9XTPNJ32zg2hcA',
        name: 'get_weather',
        input: { location: 'Paris, France' },
      },
      {
        type: 'tool_use',
        id: 'call_Bogota0000000000000000',
        name: 'get_weather',
        input: { location: 'Bogotá, Colombia' },
      },
    ]);
  });

  it('streams reasoning_content as a thinking block before the text block', async () => {
    const sse = whole(anthropicToOpenai, OPENAI_REASONING_STREAM).out;
    const msg = await anthropicSdk(sse)
      .messages.stream({ model: 'caller-model', max_tokens: 9, messages: [] })
      .finalMessage();
    expect(msg.content).toEqual([
      { type: 'thinking', thinking: '9.11 vs 9.8: compare tenths.', signature: '' },
      { type: 'text', text: '9.8 is greater.' },
    ]);
  });

  it('passes a mid-stream error on as an Anthropic error event the SDK throws, and stays incomplete', async () => {
    const firstTwo = OPENAI_TEXT_STREAM.split('\n\n').slice(0, 2).join('\n\n');
    const upstream = `${firstTwo}\n\ndata: {"error":{"message":"The server had an error","type":"server_error"}}\n\n`;
    const got = whole(anthropicToOpenai, upstream);
    expect(got.complete).toBe(false);
    const last = events(got.out).at(-1);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last?.data ?? '')).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'The server had an error' },
    });
    const stream = anthropicSdk(got.out).messages.stream({
      model: 'caller-model',
      max_tokens: 9,
      messages: [],
    });
    await expect(stream.finalMessage()).rejects.toThrow(/The server had an error/);
  });
});
