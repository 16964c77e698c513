import { describe, expect, it } from 'vitest';
import { chatStreamUsage } from './stream-usage';

const body = (o: unknown) => Buffer.from(JSON.stringify(o));
const chat = '/v1/chat/completions';

describe('chatStreamUsage', () => {
  it('finds a chat stream without usage, and nothing else', () => {
    expect(chatStreamUsage.missing(chat, body({ model: 'm', stream: true }))).toBe(true);
    expect(
      chatStreamUsage.missing(chat, body({ stream: true, stream_options: { include_usage: false } })),
    ).toBe(true);
    expect(
      chatStreamUsage.missing(chat, body({ stream: true, stream_options: { include_usage: true } })),
    ).toBe(false);
    expect(chatStreamUsage.missing(chat, body({ model: 'm' }))).toBe(false);
    expect(chatStreamUsage.missing('/v1/responses', body({ stream: true }))).toBe(false);
    expect(chatStreamUsage.missing(chat, null)).toBe(false);
    // A message quoting the option is not the option.
    expect(
      chatStreamUsage.missing(chat, body({ stream: true, messages: [{ content: '"include_usage": true' }] })),
    ).toBe(true);
  });

  it('asks for usage, keeping the other stream options and every other field', () => {
    const out = chatStreamUsage.request(
      body({ model: 'm', stream: true, stream_options: { include_obfuscation: false } }),
    );
    expect(JSON.parse(out.toString('utf8'))).toEqual({
      model: 'm',
      stream: true,
      stream_options: { include_obfuscation: false, include_usage: true },
    });
    const notJson = Buffer.from('{"stream": true');
    expect(chatStreamUsage.request(notJson)).toBe(notJson);
  });

  it('takes out what asking added: the usage-only chunk and every "usage": null', () => {
    const chunk = { id: 'c', choices: [{ index: 0, delta: { content: '"usage":null' } }] };
    expect(chatStreamUsage.strip(JSON.stringify({ ...chunk, usage: null }))).toBe(JSON.stringify(chunk));
    expect(chatStreamUsage.strip(JSON.stringify({ usage: null, ...chunk }))).toBe(JSON.stringify(chunk));
    expect(chatStreamUsage.strip('{"id":"c","choices":[],"usage":{"prompt_tokens":3}}')).toBeNull();
    // Untouched: a chunk without the field (its content quoting it included), [DONE], a chunk with choices.
    expect(chatStreamUsage.strip(JSON.stringify(chunk))).toBe(JSON.stringify(chunk));
    expect(chatStreamUsage.strip('[DONE]')).toBe('[DONE]');
    const withChoices = '{"choices":[{"index":0}],"usage":{"prompt_tokens":3}}';
    expect(chatStreamUsage.strip(withChoices)).toBe(withChoices);
  });
});
