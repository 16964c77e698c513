import { describe, expect, it } from 'vitest';
import {
  answerChunks,
  bearerKey,
  chatCompletionBody,
  chatStreamEvents,
  RequestCounters,
  streamWanted,
} from './upstream-answers';

const spec = { chunks: answerChunks(3), created: 1_800_000_000, id: 'abc' };

describe('the bench upstream answers', () => {
  it('answers a chat completion with the fields the OpenAI SDK reads', () => {
    const body = JSON.parse(chatCompletionBody(spec).toString()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: 'chatcmpl-abc',
      object: 'chat.completion',
      created: 1_800_000_000,
      model: 'gpt-4o-mini',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Hello word1 word2' }, finish_reason: 'stop' },
      ],
      usage: { completion_tokens: 3, total_tokens: 45 },
    });
  });

  it('streams role, one event per delta, finish and [DONE], each a complete SSE event', () => {
    const events = chatStreamEvents(spec, false).map((b) => b.toString());
    expect(events).toHaveLength(1 + 3 + 1 + 1);
    expect(events.every((e) => /^data: .*\n\n$/s.test(e) && e.indexOf('\n\n') === e.length - 2)).toBe(true);
    const parsed = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(parsed.map((p) => (p.choices as { delta: { content?: string } }[])[0]?.delta.content)).toEqual([
      '',
      'Hello',
      ' word1',
      ' word2',
      undefined,
    ]);
    expect(events.at(-1)).toBe('data: [DONE]\n\n');
  });

  it('adds a usage chunk before [DONE] only when include_usage was asked for', () => {
    const events = chatStreamEvents(spec, true).map((b) => b.toString());
    expect(events).toHaveLength(7);
    expect(JSON.parse(events[5]?.slice(6) ?? '')).toMatchObject({ choices: [], usage: { total_tokens: 45 } });
  });

  it('tells a streamed request by its bytes, with or without a space after the colon', () => {
    const ask = (o: unknown) => streamWanted(Buffer.from(JSON.stringify(o)));
    expect(ask({ model: 'm', stream: true })).toEqual({ stream: true, includeUsage: false });
    expect(ask({ model: 'm', stream: false })).toEqual({ stream: false, includeUsage: false });
    expect(ask({ messages: [{ content: 'stream' }] }).stream).toBe(false);
    expect(ask({ stream: true, stream_options: { include_usage: true } }).includeUsage).toBe(true);
    expect(streamWanted(Buffer.from('{"model": "m", "stream": true}')).stream).toBe(true);
  });

  it('reads the Bearer key from raw headers in any case, and nothing else', () => {
    expect(bearerKey(['Host', 'x', 'Authorization', 'Bearer sk-1'])).toBe('sk-1');
    expect(bearerKey(['authorization', 'bearer  sk-2 '])).toBe('sk-2');
    expect(bearerKey(['x-api-key', 'sk-3'])).toBeUndefined();
    expect(bearerKey(['authorization', 'Basic abc'])).toBeUndefined();
  });

  it('counts requests per key and path until reset', () => {
    const c = new RequestCounters();
    c.count('sk-1', '/v1/chat/completions');
    c.count('sk-1', '/v1/chat/completions');
    c.count(undefined, '/v1/models');
    expect(c.toJSON()).toEqual({
      total: 3,
      aborted: 0,
      keys: { 'sk-1': 2, '(none)': 1 },
      paths: { '/v1/chat/completions': 2, '/v1/models': 1 },
    });
    c.reset();
    expect(c.toJSON()).toEqual({ total: 0, aborted: 0, keys: {}, paths: {} });
  });
});
